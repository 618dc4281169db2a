"""Sign in without a password form: show a code and a link, poll until the user approves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets

from session_tutorial.client import SLOW_DOWN_STEP, DeviceLogin
from session_tutorial.errors import AccessDenied, DeviceCodeExpired, RateLimited, SessionError
from session_tutorial.session import SessionManager

from ._html import Kind, rough_duration, status_box
from .links import browser_url
from .messages import explain
from .password import KernelGuard

SignedIn = Callable[[dict[str, Any]], None]


class DeviceLoginWidget(widgets.VBox):
    """The device flow as a widget: the user code, the verification link, polling progress.

    >>> device = DeviceLoginWidget(manager)  # doctest: +SKIP
    >>> device.start()  # gets a code, then polls in a background thread  # doctest: +SKIP
    >>> device  # open the link, approve, and watch it turn to "Signed in as …"  # doctest: +SKIP
    >>> device.wait(timeout=300)["name"]  # doctest: +SKIP
    'Ada Lovelace'

    Unattended: ``begin()`` gets the code, then call ``poll_once()`` once per ``interval``
    seconds until it returns the profile (it returns None while approval is pending). Errors
    are shown, never raised; ``state`` is "not started", "waiting", "signed in", "denied",
    "expired" or "error", and ``error`` keeps the last error.
    """

    def __init__(
        self, manager: SessionManager, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.manager = manager
        self.clock = clock or manager.clock
        self.code = widgets.HTML()
        self.link = widgets.HTML()
        self.progress = widgets.HTML()
        self.status = widgets.HTML()
        self.state = "not started"
        self.polls = 0
        self.interval: float | None = None
        self.profile: dict[str, Any] | None = None
        self.error: SessionError | None = None
        # Holds the device code, which collects the tokens: a Python attribute, never synced.
        self._device: DeviceLogin | None = None
        self._callbacks: list[SignedIn] = []
        self._label = "not started"
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.progress.value = "Not started: <code>start()</code> asks the tenant for a code."
        super().__init__([self.code, self.link, self.progress, self.status, KernelGuard()])
        # Stable CSS classes for the browser test (tests/test_browser.py) and for styling.
        self.add_class("st-widget")
        self.add_class("st-device-login")
        self.code.add_class("st-device-code")
        self.link.add_class("st-device-link")
        self.status.add_class("st-status")

    def __repr__(self) -> str:
        return f"DeviceLoginWidget({self._label})"

    @property
    def user_code(self) -> str | None:
        """The code the user types (or finds filled in) on the verification page."""
        return None if self._device is None else self._device.user_code

    @property
    def verification_url(self) -> str | None:
        """The page to open, with the code filled in when the tenant offers that."""
        if self._device is None:
            return None
        return browser_url(self._device.verification_uri_complete or self._device.verification_uri)

    def on_signed_in(self, callback: SignedIn) -> None:
        """Call ``callback(profile)`` once the device login is approved and saved."""
        self._callbacks.append(callback)

    def begin(self) -> None:
        """Ask the tenant for a new device code and show it (starting over if one was shown)."""
        with self._lock:
            self.polls, self.profile, self.error = 0, None, None
            try:
                self._device = _start_device_login(self.manager)
            except SessionError as exc:
                self._failed(exc)
                return
            self.interval = self._device.interval
            self.state, self._label = "waiting", "waiting for approval"
            self.code.value = (
                "<div>Your code:</div><div style='font-size:2.2em;font-family:monospace;"
                f"letter-spacing:.15em;font-weight:700'>{escape(self._device.user_code)}</div>"
            )
            url = self.verification_url or ""
            self.link.value = (
                f"Open <a href='{escape(url)}' target='_blank' rel='noopener noreferrer' "
                "style='color:#1a5fb4;text-decoration:underline'>"
                f"{escape(url)}</a>, check that it shows the same code, sign in and approve."
            )
            self.status.value = ""
            self._show_progress()

    def poll_once(self) -> dict[str, Any] | None:
        """Ask the tenant once whether the user approved: the profile when signed in, else None.

        Not started yet: gets a code first. Signed in already (say, by ``start()`` polling in
        the background): asks nothing and returns the profile, so running the cells of a
        notebook again never throws away a finished sign-in.
        """
        with self._lock:
            if self._device is None and self.state == "not started":
                self.begin()
            if self.state != "waiting" or self._device is None:
                return self.profile
            if self.clock() >= self._device.expires_at:
                self._expired()
                return None
            try:
                outcome = _poll_step(
                    self.manager, self._device, self.interval or self._device.interval
                )
            except DeviceCodeExpired:
                self.polls += 1
                self._expired()
                return None
            except AccessDenied as exc:
                self.polls += 1
                self._denied(exc)
                return None
            except SessionError as exc:
                self.polls += 1
                self._failed(exc)
                return None
            self.polls += 1
            if isinstance(outcome, _Pending):
                self.interval = outcome.interval
                self._show_progress()
                return None
            self._signed_in(outcome)
        for callback in self._callbacks:
            callback(outcome)
        return outcome

    def start(self) -> None:
        """Get a code if there is none, then poll in a background thread at the tenant's pace.

        Signed in already: does nothing (``begin()`` starts over with a new code).
        """
        if self.state == "signed in":
            return
        if self._device is None or self.state != "waiting":
            self.begin()
        if self.state != "waiting" or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="device-login-poll", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait up to ``timeout`` s for the polling thread to end; the profile, or None."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.profile

    def cancel(self) -> None:
        """Stop polling (the code stays valid at the tenant until it expires)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.state == "waiting":
                self.state, self._label = "cancelled", "cancelled"
                self.progress.value = "Stopped polling. <code>start()</code> begins again."

    def _run(self) -> None:
        while self.state == "waiting" and not self._stop.wait(self.interval or 5.0):
            self.poll_once()

    def _show_progress(self) -> None:
        assert self._device is not None
        left = self._device.expires_at - self.clock()
        times = "once" if self.polls == 1 else f"{self.polls} times"
        polled = f"polled {times}" if self.polls else "not polled yet"
        self.progress.value = (
            f"⏳ Waiting for approval… {polled}, every {self.interval:g} s; "
            f"the code expires in {rough_duration(left)}."
        )

    def _signed_in(self, profile: dict[str, Any]) -> None:
        self.profile, self.state = profile, "signed in"
        name = profile.get("name") or profile.get("email") or "an unknown user"
        self._label = f"signed in as {name}"
        self.progress.value = "Approved after " + (
            "one poll." if self.polls == 1 else f"{self.polls} polls."
        )
        text = f"Signed in as {name} ({profile.get('email', '')})."
        if self.manager.store_error is not None:
            text += (
                f" The credentials could not be saved in the keychain: {self.manager.store_error}"
            )
        self._show(text, "ok")
        if self._device is not None:  # its code is spent: no link to a page that refuses it
            self.link.value = (
                f"The code {escape(self._device.user_code)} was approved; it cannot be used again."
            )
        self._device = None

    def _denied(self, exc: AccessDenied) -> None:
        self.error = exc
        self.state, self._label = "denied", "denied"
        self.progress.value = ""
        self._show(
            "The sign-in was denied on the verification page. Nothing was saved; call begin() "
            "(or start()) for a new code to try again.",
            "error",
        )

    def _expired(self) -> None:
        self.state, self._label = "expired", "code expired"
        self.progress.value = ""
        self._show(
            "The code expired before anyone approved it. Call begin() (or start()) for a new one.",
            "error",
        )

    def _failed(self, exc: SessionError) -> None:
        message = explain(exc, self.manager.tenant)
        self.error = exc
        if exc.retryable and self.state == "waiting":
            self._show(f"{message.text} Still waiting: the next poll tries again.", "error")
            return
        self.state, self._label = "error", f"error: {message.label}"
        self._show(message.text, "error")

    def _show(self, text: str, kind: Kind) -> None:
        self.status.value = status_box(text, kind)


class _Pending:
    """The user has not decided yet; poll again after ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval


def _start_device_login(manager: SessionManager) -> DeviceLogin:
    return manager.start_device_login()


def _poll_step(
    manager: SessionManager, device: DeviceLogin, interval: float
) -> dict[str, Any] | _Pending:
    """One poll: the profile once approved (saved by the manager), else ``_Pending``."""
    try:
        profile = manager.poll_device_login_once(device)
    except RateLimited as exc:
        if exc.error != "slow_down":
            raise
        return _Pending(interval + SLOW_DOWN_STEP)
    return _Pending(interval) if profile is None else profile
