"""Notebook 07's failures, reproduced live against the tutorial's tenant: ``Breakage(tutorial)``.

Each method plays one thing that goes wrong in the field and returns a :class:`Note` saying
what happened, never a token. Where a failure needs the teaching controls (moving the tenant's
clock), the method says so and plays what it can without them, as on a real Auth0 tenant.

Two stand-ins, labelled where they are used: a keychain that answers as a locked one does
(locking the tutorial's private keychain for real cannot be undone: its password is thrown
away), and a Wi-Fi that refuses the first connections (:class:`FlakyWifi`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings
from typing import Any

import httpx
import keyring.errors
from keyring.backends import SecretService

from session_tutorial.client import AuthClient
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    NetworkError,
    RefreshTokenRejected,
    RenewalWarning,
    SessionError,
    TokenVerificationFailed,
)
from session_tutorial.idtoken import verify_id_token
from session_tutorial.retry import RetryPolicy
from session_tutorial.session import SessionManager
from session_tutorial.store import CredentialStore
from session_tutorial.timewords import rough_duration
from session_tutorial.tutorial import NO_TEACHING, Note, Tutorial

DAY = 24 * 3600


def _fingerprint(token: str | None) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()[:12]


def _skew_words(seconds: float) -> str:
    if seconds == 0:
        return "right"
    side = "ahead" if seconds > 0 else "behind"
    return f"{rough_duration(abs(seconds))} {side}"


def _why_refused(message: str) -> str:
    if "later than now" in message:
        return "its iat (issued at) is later than this clock's now, plus the 60 s leeway"
    if message.startswith("The ID token expired"):
        return "by this clock it has expired (exp, plus the 60 s leeway)"
    return message


class FlakyWifi(httpx.BaseTransport):
    """A stand-in for a Wi-Fi that drops: the first ``drops`` token requests never connect."""

    def __init__(self, drops: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.drops = drops

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.drops > 0 and request.url.path == "/oauth/token":
            self.drops -= 1
            raise httpx.ConnectError("the Wi-Fi dropped (a stand-in)", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _LockedKeychain(SecretService.Keyring):
    """A stand-in: the real Secret Service backend, answering as a locked collection does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class Breakage:
    """The failures of notebook 07, on ``tutorial``'s tenant and keychain."""

    def __init__(self, tutorial: Tutorial) -> None:
        self.tutorial = tutorial
        self._lost: str | None = None  # fingerprint of a refresh token that died with the app
        self._managers: list[SessionManager] = []

    @property
    def _teaching(self) -> bool:
        return self.tutorial.control is not None

    def _stored(self) -> Credentials:
        raw = self.tutorial.store.load()
        if raw is None:
            raise RuntimeError("Nothing is saved: run tutorial.ensure_signed_in() first.")
        return Credentials.from_json(raw)

    def _manager(self, **kwargs: Any) -> SessionManager:
        tutorial = self.tutorial
        manager = SessionManager(tutorial.tenant, tutorial.store, clock=tutorial.clock, **kwargs)
        self._managers.append(manager)
        return manager

    def _family(self) -> str:
        if not self._teaching:
            return ""
        family = self.tutorial.control.sessions(self.tutorial.demo_user()[0])[0]
        if family["active"]:
            return "The tenant's family of refresh tokens is still active."
        event = {"reuse": "ferrt", "expired": "fertft", "idle": "fertft"}.get(
            str(family["revoked_reason"]), "—"
        )
        return (
            f"The tenant ended the whole family (reason: {family['revoked_reason']}; "
            f"Auth0's tenant log would show a failed exchange, `{event}`)."
        )

    def signed_in(self) -> Note:
        """A saved session for the demo user, restored or made now (each section starts so)."""
        self.tutorial.ensure_signed_in()
        user = self.tutorial.session.user or {}
        return Note(f"Signed in as {user.get('name', 'the demo user')}, saved in the keychain.")

    # -- 1 · killed between the tenant's answer and the keychain write --------------------

    def kill_before_saving(self, then_wait: float = 0) -> Note:
        """The app renews; the tenant rotates and answers; the app dies before saving."""
        stored = self._stored()
        lost = self.tutorial.session.client.refresh(stored.refresh_token or "")
        self._lost = _fingerprint(lost.refresh_token)  # only a fingerprint is kept
        lines = [
            "The tenant rotated the refresh token and answered; the app was killed before its "
            "keychain write. The keychain still holds the retired token."
        ]
        if then_wait:
            lines.append(str(self.tutorial.advance_clock(then_wait)))
        return Note("\n".join(lines))

    def kill_and_relaunch(self, wait: float = 0) -> Note:
        """Killed before saving, then launched again ``wait`` s later, in one go.

        One call, so that the relaunch comes as soon as the text says (a reader pausing
        between two cells would otherwise be outside the 10 s overlap).
        """
        return Note(f"{self.kill_before_saving(then_wait=wait)}\n{self.next_launch_renews()}")

    def next_launch_renews(self) -> Note:
        """The next launch renews with what the keychain holds: the retired token."""
        session = self.tutorial.next_launch()
        try:
            fresh = session.renew()
        except RefreshTokenRejected as exc:
            lines = [f"Signed out at the next launch: {exc.description}", self._family()]
            return Note("\n".join(line for line in lines if line))
        name = session.client.userinfo(fresh.access_token)["name"]
        same = _fingerprint(fresh.refresh_token) == self._lost
        return Note(
            f"Still signed in as {name}: the tenant forgave the replay, inside its overlap, and "
            f"handed back the same successor the lost answer carried: {same}."
        )

    # -- 2 · two refreshes race -------------------------------------------------------------

    def race_by_hand(self) -> Note:
        """Three callers refresh with one token, without the single flight."""
        stale = self._stored().refresh_token or ""
        client = self.tutorial.session.client
        first = client.refresh(stale)
        self.tutorial.store.save(first.to_json())  # caller 1 saves what it got
        second = client.refresh(stale)
        same = _fingerprint(second.refresh_token) == _fingerprint(first.refresh_token)
        lines = [
            "Caller 1 refreshed and saved a new refresh token.",
            "Caller 2, a moment later with the same old token, got "
            + ("the same successor" if same else "another successor")
            + " (inside the tenant's overlap).",
        ]
        if not self._teaching:
            lines.append(NO_TEACHING.format(what="lets a minute pass before caller 3 tries"))
            return Note("\n".join(lines))
        lines.append(str(self.tutorial.advance_clock(60)))
        try:
            client.refresh(stale)
            lines.append("Caller 3 was let through.")
        except RefreshTokenRejected as exc:
            lines.append(
                f"Caller 3, which read the keychain a minute ago, is refused: {exc.description}"
            )
        try:
            client.refresh(first.refresh_token or "")
            lines.append("Caller 1's token still works.")
        except RefreshTokenRejected:
            lines.append("Caller 1's fresh token is refused too: " + self._family())
        self.tutorial.store.clear()  # what the session manager does with a dead session
        return Note("\n".join(lines))

    # -- 3 · the refresh token expires --------------------------------------------------------

    def when_unused_ends(self) -> Note:
        """When the tenant ends this session if nothing renews it."""
        ends = self.tutorial.session.ends_if_unused()
        if ends is None:
            return Note(
                "This tenant does not say how long an unused session lasts (set "
                "AUTH0_REFRESH_TOKEN_IDLE_LIFETIME to your tenant's inactivity lifetime)."
            )
        left = ends - self.tutorial.clock()
        return Note(
            f"If nobody uses this session, the tenant ends it in about {rough_duration(left)}: "
            "its inactivity lifetime, counted from the last renewal."
        )

    def next_launch(self) -> Note:
        """The next launch: ``restore()``, and what it says."""
        session = self.tutorial.next_launch()
        profile = session.restore()
        if profile is None:
            lines = [f"Signed out: {session.last_reason}", self._family()]
            return Note("\n".join(line for line in lines if line))
        return Note(f"Welcome back, {profile['name']}.")

    def use_every(self, days: float, times: int) -> Note:
        """Renew every ``days`` days, ``times`` times: no renewal extends the absolute lifetime."""
        if not self._teaching:
            return Note(NO_TEACHING.format(what=f"renews every {days:g} days, {times} times"))
        lines = []
        session = self.tutorial.next_launch()
        for n in range(1, times + 1):
            self.tutorial.control.advance_clock(days * DAY + 60)
            try:
                session.renew()
            except RefreshTokenRejected as exc:
                lines.append(f"Day {n * days:g}: refused: {exc.description}")
                break
            lines.append(f"Day {n * days:g}: renewed; a new refresh token.")
        return Note("\n".join(lines))

    # -- 4 · the computer's clock is wrong -----------------------------------------------------

    def clock_off(self, *skews: float) -> Note:
        """A fresh ID token, checked by a machine whose clock is off by each of ``skews`` s."""
        session = self.tutorial.session
        fresh = session.renew()
        assert fresh.id_token is not None
        now = self.tutorial.clock()
        lines = []
        for skew in skews:
            try:
                verify_id_token(
                    fresh.id_token, self.tutorial.tenant, now=now + skew, jwks=session.jwks
                )
                verdict = "the ID token passes"
            except TokenVerificationFailed as exc:
                verdict = "refused: " + _why_refused(str(exc))
            lines.append(f"Clock {_skew_words(skew)}: {verdict}.")
        return Note("\n".join(lines))

    # -- 5 · no keychain, or a locked one ---------------------------------------------------

    def status_without_a_keychain(self) -> Note:
        """``python -m session_tutorial status`` where keyring finds no keychain at all."""
        env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        run = subprocess.run(
            [sys.executable, "-m", "session_tutorial", "status"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        keep = ("Keychain:", "Session:", "Broken: No usable keychain")
        shown = [line for line in run.stdout.splitlines() if line.startswith(keep)]
        return Note("\n".join([*shown, f"(exit code {run.returncode})"]))

    def locked_keychain(self) -> Note:
        """What the session manager says when the keychain is locked (a stand-in)."""
        store = CredentialStore(
            account=self.tutorial.tenant.account, keyring_backend=_LockedKeychain()
        )
        manager = SessionManager(self.tutorial.tenant, store, clock=self.tutorial.clock)
        self._managers.append(manager)
        try:
            manager.restore()
        except SessionError as exc:
            return Note(f"{type(exc).__name__}: {exc}")
        return Note("The stand-in keychain was not locked after all.")

    # -- 6 · the network drops during renewal ---------------------------------------------------

    def original_tutorial_offline(self) -> Note:
        """The original tutorial's rule on a train: any failed renewal clears the keychain."""
        offline = self.tutorial.offline_session()
        try:
            offline.renew()
        except SessionError as exc:
            self.tutorial.store.clear()  # the original: "clear the keychain, show the login"
            return Note(
                f"Renewal failed ({type(exc).__name__}); the original tutorial cleared the "
                "keychain: the user must sign in again, though nothing was wrong with the session."
            )
        return Note("The renewal went through: the network was not down after all.")

    def offline(self) -> Note:
        """The session manager on the same train: the error is retryable, the entry kept."""
        before = self.tutorial.store.load()
        offline = self.tutorial.offline_session()
        try:
            offline.renew()
        except NetworkError as exc:
            kept = self.tutorial.store.load() == before
            return Note(
                f"{type(exc).__name__}, retryable={exc.retryable}; keychain entry kept: {kept}."
            )
        return Note("The renewal went through: the network was not down after all.")

    def offline_early(self) -> Note:
        """An early renewal fails offline: the still-valid access token is handed back."""
        offline = self.tutorial.offline_session()
        left = self._stored().expires_in(self.tutorial.clock())
        if self._teaching:
            self.tutorial.control.advance_clock(left - 30)  # 30 s left: inside min_ttl=60
            min_ttl = 60.0
        else:
            min_ttl = left + 60  # without the clock, ask for more than is left
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RenewalWarning)
            credentials = offline.credentials(min_ttl=min_ttl)
        warned = any(issubclass(w.category, RenewalWarning) for w in caught)
        left = credentials.expires_in(self.tutorial.clock())
        return Note(
            f"Handed back the access token it had ({rough_duration(left)} left); "
            f"renewal_error={type(offline.renewal_error).__name__}; RenewalWarning: {warned}."
        )

    def flaky_wifi_with_retries(self, drops: int = 2) -> Note:
        """Renew with retries over a Wi-Fi that refuses the first ``drops`` connections."""
        waits: list[float] = []
        tutorial = self.tutorial
        client = AuthClient(tutorial.tenant, clock=tutorial.clock, transport=FlakyWifi(drops))
        policy = RetryPolicy(max_retries=3, sleep=waits.append)
        manager = self._manager(client=client, retry=policy)
        before = tutorial._rotations()
        manager.renew()
        after = tutorial._rotations()
        said = (
            ""
            if before is None or after is None
            else f"; the tenant saw {after - before} refresh(es)"
        )
        slept = ", ".join(f"{w:g} s" for w in waits)
        return Note(f"{drops} connections refused, then renewed after waits of {slept}{said}.")

    # -- the end ----------------------------------------------------------------------------

    def tidy_up(self) -> Note:
        """Sign out, close what was opened, and put the tenant's clock back to real time."""
        self.tutorial.start_signed_out()
        for manager in self._managers:
            manager.close()
        self._managers.clear()
        if not self._teaching:
            return Note("Signed out.")
        self.tutorial.control.reset()
        return Note("Signed out, and the tenant's clock is back to real time.")
