"""A sign-in form: email, password, a button; it calls the session manager and nothing else."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from session_tutorial.errors import SessionError, StoreWarning
from session_tutorial.session import SessionManager

from ._html import Kind, status_box
from .messages import explain
from .password import PasswordField

SignedIn = Callable[[dict[str, Any]], None]


class LoginForm(widgets.VBox):
    """Email, password and a "Sign in" button that calls ``manager.login``.

    >>> form = LoginForm(manager)  # doctest: +SKIP
    >>> form  # shows the form; type, then click "Sign in"  # doctest: +SKIP
    >>> form.sign_in("ada@example.com", password)["name"]  # unattended  # doctest: +SKIP
    'Ada Lovelace'

    The password is never widget state (see :class:`PasswordField`): what is typed stays in the
    kernel until the button is pressed, and the field is emptied then. A widget's state is
    synced to the browser and can be saved in the notebook, and a password must linger in
    neither. Errors are shown in the status line (``form.error`` keeps the last one), never
    raised. A click while a sign-in runs, or a second click with nothing typed since (a double
    click), changes nothing: the result shown stays.
    """

    def __init__(self, manager: SessionManager, *, email: str = "") -> None:
        self.manager = manager
        self.email = widgets.Text(value=email, description="Email", placeholder="ada@example.com")
        self.password = PasswordField(description="Password")
        self.button = widgets.Button(description="Sign in", button_style="primary", icon="sign-in")
        self.status = widgets.HTML()
        self.profile: dict[str, Any] | None = None
        self.error: SessionError | None = None
        self._callbacks: list[SignedIn] = []
        self._label = "signed out"
        self._attempted = False
        self.button.on_click(self._clicked)
        self.password.on_submit(lambda _field: self._clicked(self.button))
        super().__init__([self.email, self.password, self.button, self.status])
        # Stable CSS classes for the browser test (tests/test_browser.py) and for styling.
        self.add_class("st-widget")
        self.add_class("st-login")
        self.email.add_class("st-login-email")
        self.password.add_class("st-login-password")
        self.button.add_class("st-login-button")
        self.status.add_class("st-status")

    def __repr__(self) -> str:
        return f"LoginForm({self._label})"

    def on_signed_in(self, callback: SignedIn) -> None:
        """Call ``callback(profile)`` after every successful sign-in."""
        self._callbacks.append(callback)

    def sign_in(self, email: str, password: str) -> dict[str, Any] | None:
        """Fill in the email and sign in, as a click would: the profile, or None (see status).

        Already signed in as ``email`` with this form (say, with its button) and the session is
        still there: nothing is sent, and the profile is returned as it is.
        """
        self.email.value = email
        self.password.value = ""
        if self._still_signed_in_as(email):
            return self.profile
        return self._submit(email, password)

    def _clicked(self, _button: widgets.Button) -> None:
        if self.button.disabled:
            return  # sent by the browser before it knew a sign-in was running
        email, password = self.email.value.strip(), self.password.take()
        if not password and self._attempted:
            return  # a double click: the first click used the password; keep its result
        self._submit(email, password)

    def _still_signed_in_as(self, email: str) -> bool:
        if self.profile is None or self.manager.user is None:
            return False
        return str(self.profile.get("email", "")).lower() == email.strip().lower()

    def _submit(self, email: str, password: str) -> dict[str, Any] | None:
        email = email.strip()
        if not email or not password:
            self._show("Enter your email and your password, then press Sign in.", "error")
            self._label = "waiting for email and password"
            return None
        self._attempted = True
        self._busy(True)
        self._show(f"Signing in as {email}…", "busy")
        try:
            with warnings.catch_warnings():
                # A failed save is shown in the status line below instead of as a warning.
                warnings.simplefilter("ignore", StoreWarning)
                profile = self.manager.login(email, password)
        except SessionError as exc:
            message = explain(exc, self.manager.tenant, email=email)
            self.profile, self.error, self._label = None, exc, f"error: {message.label}"
            self._show(message.text, "error")
            return None
        finally:
            self._busy(False)
        self.profile, self.error = profile, None
        name = profile.get("name") or email
        self._label = f"signed in as {name}"
        text = f"Signed in as {name} ({profile.get('email', email)})."
        if self.manager.store_error is not None:
            text += (
                " The credentials could not be saved in the keychain, so the next launch will "
                f"ask you to sign in again: {self.manager.store_error}"
            )
        self._show(text, "ok")
        for callback in self._callbacks:
            callback(profile)
        return profile

    def _busy(self, busy: bool) -> None:
        for field in (self.email, self.password, self.button):
            field.disabled = busy
        self.button.description = "Signing in…" if busy else "Sign in"
        self.button.icon = "hourglass-half" if busy else "sign-in"

    def _show(self, text: str, kind: Kind) -> None:
        self.status.value = status_box(text, kind)
