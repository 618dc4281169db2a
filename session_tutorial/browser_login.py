"""Signing in through the browser, start to finish: open the tenant's page, wait, exchange.

``BrowserLogin`` is one sign-in in progress: a callback receiver listening, an authorization
request with its own verifier, state and nonce, and the URL to open. ``complete()`` waits for
the callback (bounded), exchanges the code, checks the nonce and hands the credentials to
whoever saves them (``SessionManager.login_with_browser`` does all of it in one call).

How the link reaches the person, in order: an ``open_browser`` callable given by the caller (a
notebook widget shows a button); else the system browser (``webbrowser``); where there is
none (a terminal over SSH), the link is printed, as ``gh auth login`` does.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from session_tutorial.callback import Callback, CallbackReceiver
from session_tutorial.credentials import Credentials
from session_tutorial.errors import AuthError, SessionError, SignInCancelled
from session_tutorial.pkce import AuthorizationRequest, Prompt, authorization_request, exchange_code

if TYPE_CHECKING:
    from session_tutorial.session import SessionManager

Opener = Callable[[str], object]
DEFAULT_TIMEOUT = 300.0  # seconds: long enough to type a password, short enough to notice


def browser_base_url(base_url: str) -> str | None:
    """Where the browser reaches the local tenant when that differs (Binder), else None.

    binder/start exports ``TUTORIAL_TENANT_PUBLIC_URL`` (``<prefix>proxy/<port>/``).
    """
    public = os.environ.get("TUTORIAL_TENANT_PUBLIC_URL")
    local = base_url.startswith(("http://127.0.0.1:", "http://localhost:"))
    return public.rstrip("/") if public and local else None


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the system browser; print it when there is none. Whether one opened."""
    try:
        opened = webbrowser.open(url, new=2)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(f"Open this link in your browser to sign in:\n  {url}", file=sys.stderr, flush=True)
    return opened


class BrowserLogin:
    """One browser sign-in in progress. Nothing is saved until ``complete()`` succeeds."""

    def __init__(
        self,
        manager: SessionManager,
        *,
        port: int = 0,
        prompt: Prompt | None = None,
        screen_hint: str | None = None,
        login_hint: str | None = None,
        receiver: CallbackReceiver | None = None,
    ) -> None:
        self.manager = manager
        self.receiver = receiver or CallbackReceiver.from_env(port=port)
        tenant = manager.tenant
        self.request: AuthorizationRequest = authorization_request(
            tenant,
            self.receiver.redirect_uri,
            base_url=browser_base_url(tenant.base_url),
            prompt=prompt,
            screen_hint="signup" if screen_hint == "signup" else None,
            login_hint=login_hint,
        )
        self.receiver.expect(self.request.state)

    def __repr__(self) -> str:
        state = "finished" if self.receiver.closed else "waiting"
        return f"BrowserLogin({state}, callback {self.receiver.redirect_uri})"

    @property
    def url(self) -> str:
        """The tenant's page to open in the browser."""
        return self.request.url

    def cancel(self) -> None:
        """Stop waiting; the port closes and ``complete()`` raises ``SignInTimedOut``."""
        self.receiver.cancel()

    def complete(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Wait for the callback, exchange the code, save, tell the tab; the user's profile."""
        callback = self.receiver.wait(timeout)
        try:
            credentials = self._credentials(callback)
            profile = self.manager._begin(credentials)
        except SessionError as exc:
            self.receiver.finish(f"{exc} You can close this tab.", ok=False)
            raise
        except BaseException:
            self.receiver.finish("The app failed; nothing was saved.", ok=False)
            raise
        name = profile.get("name") or profile.get("email") or "you"
        self.receiver.finish(f"Signed in as {name}: you can close this tab.")
        return profile

    def _credentials(self, callback: Callback) -> Credentials:
        if callback.error == "access_denied":
            raise SignInCancelled(
                "The sign-in was cancelled on the tenant's page. Nothing was saved; start it "
                "again when you are ready.",
                error="access_denied",
                description=callback.error_description or "",
            )
        if callback.error or not callback.code:
            said = f"{callback.error}: {callback.error_description or ''}".rstrip(": ")
            raise AuthError(
                f"The tenant refused the sign-in ({said}). Nothing was saved.",
                error=callback.error or "",
                description=callback.error_description or "",
            )
        return exchange_code(
            self.manager.client, self.request, callback.code, jwks=self.manager.jwks
        )


def login_with_browser(
    manager: SessionManager,
    *,
    open_browser: Opener | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    port: int = 0,
    prompt: Prompt | None = None,
    screen_hint: str | None = None,
    login_hint: str | None = None,
) -> dict[str, Any]:
    """Open the tenant's login page, wait for the callback, save; the profile."""
    login = BrowserLogin(
        manager, port=port, prompt=prompt, screen_hint=screen_hint, login_hint=login_hint
    )
    try:
        (open_browser or open_in_browser)(login.url)
    except BaseException:
        login.cancel()
        raise
    return login.complete(timeout)
