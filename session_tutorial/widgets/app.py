"""A small session app: who is signed in, a live expiry countdown, Refresh and Sign out."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets

from session_tutorial.credentials import Credentials
from session_tutorial.errors import NoCredentials, SessionError
from session_tutorial.idtoken import inspect_token
from session_tutorial.sanitize import excerpt
from session_tutorial.session import SessionManager

from ._html import Kind, duration, rough_duration, status_box
from .messages import explain
from .password import KernelGuard


class SessionApp(widgets.VBox):
    """The session on top of ``manager.credentials()``, with a countdown and two buttons.

    >>> app = SessionApp(manager)  # doctest: +SKIP
    >>> app.start_countdown()  # a background timer calls app.tick() every second  # doctest: +SKIP
    >>> app  # doctest: +SKIP
    SessionApp(signed in as Ada Lovelace)

    ``tick()`` reads the credentials the manager holds and makes no HTTP request, so the
    countdown reaches zero and says so; with ``auto_renew=True`` it asks for credentials valid
    for ``min_ttl`` more seconds instead, and the manager renews them when they are about to
    expire, as an app would before each API call.
    """

    def __init__(
        self,
        manager: SessionManager,
        *,
        clock: Callable[[], float] | None = None,
        auto_renew: bool = False,
        min_ttl: float = 60,
    ) -> None:
        self.manager = manager
        self.clock = clock or manager.clock
        self.auto_renew = auto_renew
        self.min_ttl = min_ttl
        self.who = widgets.HTML()
        self.countdown = widgets.HTML()
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.sign_out_button = widgets.Button(
            description="Sign out", icon="sign-out", button_style="warning"
        )
        self.status = widgets.HTML()
        self._label = "signed out"
        self._seen: Credentials | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._status_for: Credentials | None = None  # the credentials the status is about
        # The status line as plain text: a cell can print it, and the printout stays as it was
        # when the widget (live in every output that shows it) has moved on.
        self.message = ""
        self.refresh_button.on_click(self._clicked(self.refresh))
        self.sign_out_button.on_click(self._clicked(self.sign_out))
        buttons = widgets.HBox([self.refresh_button, self.sign_out_button])
        super().__init__([self.who, self.countdown, buttons, self.status, KernelGuard()])
        self.add_class("st-widget")
        self.add_class("st-session-app")
        self.refresh_button.add_class("st-refresh")
        self.sign_out_button.add_class("st-sign-out")
        self.status.add_class("st-status")
        self.tick()

    def __repr__(self) -> str:
        return f"SessionApp({self._label})"

    def tick(self) -> float | None:
        """Update the display; return the access token's seconds left, or None when signed out."""
        with self._lock:
            try:
                credentials = self._credentials()
            except NoCredentials:
                self._signed_out()
                return None
            except SessionError as exc:
                self._show(explain(exc, self.manager.tenant).text, "error")
                return None
            renewed = self._seen is not None and credentials.access_token != self._seen.access_token
            if renewed and self.auto_renew:
                self._show("The access token was about to expire: renewed automatically.", "ok")
            elif self.auto_renew and self.manager.renewal_error is not None:
                why = explain(self.manager.renewal_error, self.manager.tenant).text
                self._show(
                    f"Renewing early failed: {why} The access token is still valid, so it is "
                    "used meanwhile; the next tick tries again.",
                    "info",
                )
            self._seen = credentials
            left = credentials.expires_in(self.clock())
            about = self._status_for
            if left <= 0 and about is not None and about.access_token == credentials.access_token:
                # "Renewed ... valid for 1 h" would contradict "expired" just above it.
                self._show("That access token has expired since: press Refresh.", "info")
            self._signed_in(credentials, left)
            return left

    def refresh(self) -> Credentials | None:
        """Renew now with the refresh token (the Refresh button): new credentials, or None."""
        with self._lock:
            before = self._seen
            try:
                fresh = self.manager.renew()
            except SessionError as exc:
                self._show(explain(exc, self.manager.tenant).text, "error")
                self.tick()
                return None
            self._seen = fresh
            valid = rough_duration(fresh.expires_in(self.clock()))
            text = f"Renewed: a new access token, valid for {valid}."
            if before is not None and before.refresh_token != fresh.refresh_token:
                text += " The refresh token was rotated: the old one no longer works."
            self._show(text, "ok")
            self._status_for = fresh
            self.tick()
            return fresh

    def sign_out(self) -> bool:
        """Revoke the refresh token, then clear the keychain (the Sign out button); True if done."""
        with self._lock:
            try:
                self.manager.sign_out()
            except SessionError as exc:
                text = explain(exc, self.manager.tenant).text
                self._show(
                    f"{text} Your credentials are kept, so the refresh token does not stay alive "
                    "at the tenant unnoticed. Try again, or forget them on this machine only with "
                    "manager.sign_out(force=True).",
                    "error",
                )
                return False
            self._show(
                "Signed out: the refresh token was revoked at the tenant and the keychain entry "
                "cleared.",
                "ok",
            )
            self.tick()
            return True

    def _clicked(self, action: Callable[[], object]) -> Callable[[widgets.Button], None]:
        """A click handler that runs ``action`` with both buttons disabled while it runs.

        A click on a disabled button (the browser sent it before it learnt the button was
        disabled, as in a double click) is ignored.
        """

        def clicked(button: widgets.Button) -> None:
            if button.disabled:
                return
            self.refresh_button.disabled = self.sign_out_button.disabled = True
            try:
                action()
            finally:
                self.tick()  # enables the buttons that apply now

        return clicked

    def start_countdown(self, interval: float = 1.0) -> None:
        """Call ``tick()`` every ``interval`` seconds in a background thread until stopped."""
        if self._timer is not None and self._timer.is_alive():
            return
        self._stop.clear()
        self._timer = threading.Thread(
            target=self._run, args=(interval,), name="session-app-countdown", daemon=True
        )
        self._timer.start()

    def stop_countdown(self) -> None:
        """Stop the background countdown (and wait for its thread to end)."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.tick()

    def _credentials(self) -> Credentials:
        if self.auto_renew:
            return self.manager.credentials(self.min_ttl)
        # min_ttl=-inf: the credentials as they are, never renewed, so no HTTP request.
        return self.manager.credentials(-math.inf)

    def _signed_in(self, credentials: Credentials, left: float) -> None:
        name, email = _who(self.manager.user, credentials)
        self._label = f"signed in as {name}"
        self.who.value = f"<b>Signed in as {escape(name)}</b>" + (
            f" ({escape(email)})" if email else ""
        )
        if left > 0:
            line = f"Access token expires in <b>{duration(left)}</b>"
        else:
            line = f"Access token <b>expired {duration(-left)} ago</b>: press Refresh"
        renew = "a refresh token is stored" if credentials.refresh_token else "no refresh token"
        self.countdown.value = f"⏱ {line} ({renew})." + _idle_line(self.manager, self.clock())
        self.refresh_button.disabled = credentials.refresh_token is None
        self.sign_out_button.disabled = False

    def _signed_out(self) -> None:
        self._label, self._seen = "signed out", None
        self.who.value = "<b>Signed out</b>: nobody is signed in."
        self.countdown.value = "⏱ No access token."
        self.refresh_button.disabled = self.sign_out_button.disabled = True

    def _show(self, text: str, kind: Kind) -> None:
        self._status_for = None
        self.message = text
        self.status.value = status_box(text, kind)


def _who(user: dict[str, Any] | None, credentials: Credentials) -> tuple[str, str]:
    """Name and email, from the profile or else from the (unverified, display-only) ID token."""
    claims: dict[str, Any] = dict(user or {})
    if not claims and credentials.id_token:
        try:
            claims = inspect_token(credentials.id_token).claims
        except SessionError:
            claims = {}
    # Unverified claims can carry escapes, megabytes or a token: one short printable line each.
    secrets = (credentials.access_token, credentials.refresh_token, credentials.id_token)
    name = str(claims.get("name") or claims.get("email") or "an unknown user")
    return excerpt(name, secrets, limit=80), excerpt(str(claims.get("email") or ""), secrets)


def _idle_line(manager: SessionManager, now: float) -> str:
    """When the session ends if unused (the tenant's inactivity lifetime), as a second line."""
    ends = manager.ends_if_unused()
    if ends is None:
        return ""
    if ends <= now:
        return "<br>⌛ Unused for too long: the tenant has ended this session; sign in again."
    return (
        f"<br>⌛ If unused, the session ends in about <b>{rough_duration(ends - now)}</b> "
        "(the tenant's inactivity lifetime; each renewal starts it again)."
    )
