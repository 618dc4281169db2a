"""Sign in with the browser: a button, the tenant's page in a new tab, and a widget that waits.

The recommended sign-in (Authorization Code + PKCE): the password is typed on the tenant's own
page, never in the notebook. The widget holds a :class:`~session_tutorial.BrowserLogin`; the
waiting happens in a background thread, so the notebook stays usable, and the widget turns to
"Signed in as ..." by itself when the callback arrives.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets

from session_tutorial.browser_login import DEFAULT_TIMEOUT, BrowserLogin
from session_tutorial.errors import (
    BrowserSignInError,
    SessionError,
    SignInCancelled,
    SignInTimedOut,
    StoreWarning,
)
from session_tutorial.session import SessionManager
from session_tutorial.timewords import rough_duration

from ._html import Kind, status_box
from .messages import explain

SignedIn = Callable[[dict[str, Any]], None]


class BrowserLoginWidget(widgets.VBox):
    """A "Sign in with the browser" button; the tenant's page opens in a new tab.

    >>> browser = BrowserLoginWidget(manager)  # doctest: +SKIP
    >>> browser  # press the button, then open the link: the tenant's page  # doctest: +SKIP
    >>> browser.wait(timeout=300)["name"]  # doctest: +SKIP
    'Ada Lovelace'

    ``start()`` does what the button does. ``state`` is "signed out", "waiting", "signed in",
    "cancelled", "timed out" or "error"; ``error`` keeps the last error. Errors are shown,
    never raised. The link holds no secret (the verifier stays in the kernel).
    """

    def __init__(
        self, manager: SessionManager, *, timeout: float = DEFAULT_TIMEOUT, port: int = 0
    ) -> None:
        self.manager = manager
        self.timeout = timeout
        self.port = port
        self.button = widgets.Button(
            description="Sign in with the browser",
            button_style="primary",
            icon="external-link",
            layout=widgets.Layout(width="auto"),
        )
        self.cancel_button = widgets.Button(
            description="Cancel", icon="times", layout=widgets.Layout(display="none")
        )
        self.link = widgets.HTML()
        self.status = widgets.HTML()
        self.state = "signed out"
        self.profile: dict[str, Any] | None = None
        self.error: SessionError | None = None
        self._login: BrowserLogin | None = None
        self._thread: threading.Thread | None = None
        self._callbacks: list[SignedIn] = []
        self._lock = threading.RLock()
        self.button.on_click(lambda _b: self.start())
        self.cancel_button.on_click(lambda _b: self.cancel())
        super().__init__([widgets.HBox([self.button, self.cancel_button]), self.link, self.status])
        # Stable CSS classes for the browser test (tests/test_browser.py) and styling.
        self.add_class("st-widget")
        self.add_class("st-browser-login")
        self.button.add_class("st-browser-button")
        self.cancel_button.add_class("st-browser-cancel")
        self.link.add_class("st-browser-link")
        self.status.add_class("st-status")

    def __repr__(self) -> str:
        if self.state == "signed in" and self.profile is not None:
            return f"BrowserLoginWidget(signed in as {self.profile.get('name')})"
        return f"BrowserLoginWidget({self.state})"

    @property
    def url(self) -> str | None:
        """The tenant's sign-in page for the sign-in in progress (None when none is)."""
        return None if self._login is None else self._login.url

    def on_signed_in(self, callback: SignedIn) -> None:
        """Call ``callback(profile)`` after every successful sign-in."""
        self._callbacks.append(callback)

    def start(self) -> None:
        """Begin a sign-in: listen for the callback, show the link, wait in the background."""
        with self._lock:
            if self.state == "waiting":
                return  # a second click while waiting: the link shown stays valid
            try:
                self._login = BrowserLogin(self.manager, port=self.port)
            except SessionError as exc:
                self._failed(exc)
                return
            self.state, self.profile, self.error = "waiting", None, None
            url = escape(self._login.url)
            self.link.value = (
                f'<a href="{url}" target="_blank" rel="noopener" class="st-open-tenant" '
                'style="display:inline-block;margin:.3em 0;padding:.45em .9em;border-radius:.3em;'
                'background:#3f3bbf;color:#fff;text-decoration:none;font-weight:600">'
                "Open the sign-in page ↗</a>"
            )
            self._show(
                "Waiting for you to sign in on the tenant's page, in a new tab "
                f"(this stops in {rough_duration(self.timeout)}).",
                "busy",
            )
            self.button.disabled = True
            self.cancel_button.layout.display = None
            self._thread = threading.Thread(
                target=self._run, args=(self._login,), name="browser-sign-in", daemon=True
            )
            self._thread.start()

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait up to ``timeout`` s for the sign-in to end; the profile, or None."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.profile

    def cancel(self) -> None:
        """Stop waiting; nothing is saved. The tab, if open, says the app stopped waiting."""
        login = self._login
        if login is not None and self.state == "waiting":
            with self._lock:
                self.state = "cancelled"
            login.cancel()
        if self._thread is not None:
            self._thread.join()

    def _run(self, login: BrowserLogin) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StoreWarning)  # shown in the status instead
                profile = login.complete(self.timeout)
        except SessionError as exc:
            with self._lock:
                if self.state == "cancelled":
                    self._ended("Cancelled: nothing was saved. Press the button to try again.")
                else:
                    self._failed(exc)
            return
        except Exception as exc:  # a bug, not a sign-in outcome: shown, never a dead thread
            with self._lock:
                self.state = "error"
                self._ended(
                    f"The sign-in failed unexpectedly ({type(exc).__name__}: {exc}).", "error"
                )
            return
        with self._lock:
            self.profile, self.state = profile, "signed in"
            name = profile.get("name") or profile.get("email") or "you"
            text = f"Signed in as {name} ({profile.get('email', '')})."
            if self.manager.store_error is not None:
                text += f" The keychain could not save it: {self.manager.store_error}"
            self._ended(text, "ok")
        for callback in self._callbacks:
            callback(profile)

    def _failed(self, exc: SessionError) -> None:
        self.error = exc
        if isinstance(exc, SignInCancelled):
            self.state = "cancelled"
            text = "The sign-in was cancelled on the tenant's page. Nothing was saved."
        elif isinstance(exc, SignInTimedOut):
            self.state = "timed out"
            text = str(exc)
        elif isinstance(exc, BrowserSignInError):
            self.state, text = "error", str(exc)
        else:
            self.state, text = "error", explain(exc, self.manager.tenant).text
        self._ended(text + " Press the button to try again.", "error")

    def _ended(self, text: str, kind: Kind = "info") -> None:
        if self.state == "waiting":
            self.state = "cancelled"
        self.link.value = ""
        self.button.disabled = False
        self.cancel_button.layout.display = "none"
        self._show(text, kind)

    def _show(self, text: str, kind: Kind) -> None:
        self.status.value = status_box(text, kind)


class SignOutLink(widgets.HTML):
    """A link that ends the tenant's login session in the learner's own browser (/v2/logout).

    >>> SignOutLink(manager)  # click: the next sign-in asks for a password  # doctest: +SKIP
    """

    def __init__(self, manager: SessionManager, return_to: str | None = None) -> None:
        url = manager.client.logout_url(return_to=return_to)
        super().__init__(
            f'<a href="{escape(url)}" target="_blank" rel="noopener" class="st-sign-out-link" '
            'style="color:#1a5fb4;text-decoration:underline">'
            "Sign out of the tenant in this browser ↗</a>"
        )
        self.url = url
        self.add_class("st-widget")

    def __repr__(self) -> str:
        return "SignOutLink(/v2/logout)"
