"""The client's browser sign-in: PKCE request, one-shot callback receiver, login_with_browser.

Against the real local tenant over HTTP, its real login page played by ScriptedBrowser, and
the real keychain; the callback receiver is a real listener on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conftest import LocalTenant
from session_tutorial import (
    AuthError,
    AuthorizationCodeRejected,
    BrowserLogin,
    CallbackReceiver,
    CallbackUnavailable,
    CredentialStore,
    SessionManager,
    SignInCancelled,
    SignInTimedOut,
    Tenant,
    TokenVerificationFailed,
)
from session_tutorial import callback as callback_module
from session_tutorial.pkce import exchange_code, s256
from session_tutorial.provider.background import free_port
from session_tutorial.scripted_browser import ScriptedBrowser, Visit, play_sign_in
from tests.provider_helpers import ADA

pytestmark = pytest.mark.integration
WAIT = 30.0  # seconds: an upper bound for a step, never a wait


class Person:
    """The learner at the browser, in a thread: the app waits for the callback meanwhile."""

    def __init__(self, browser: ScriptedBrowser, *, cancel: bool = False) -> None:
        self.browser, self.cancel = browser, cancel
        self.visit: Visit | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, url: str) -> None:  # an open_browser for login_with_browser
        def run() -> None:
            self.visit = play_sign_in(self.browser, url, *ADA, cancel=self.cancel)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def done(self) -> Visit:
        assert self._thread is not None
        self._thread.join(WAIT)
        assert self.visit is not None
        return self.visit


def test_login_with_browser_signs_in_on_the_tenants_page_and_saves(
    manager: SessionManager, keychain: CredentialStore, browser: ScriptedBrowser
) -> None:
    person = Person(browser)
    profile = manager.login_with_browser(open_browser=person, timeout=WAIT)
    assert profile["name"] == "Ada Lovelace"
    assert keychain.load() is not None
    visit = person.done()
    assert visit.asked_for_password
    assert visit.final.status == 200
    assert "Signed in as Ada Lovelace: you can close this tab." in visit.final.text
    # The next launch restores it like any other login.
    with SessionManager(manager.tenant, keychain, clock=manager.clock) as next_launch:
        restored = next_launch.restore()
    assert restored is not None and restored["email"] == ADA[0]


def test_each_sign_in_has_a_fresh_verifier_state_and_nonce(manager: SessionManager) -> None:
    first, second = BrowserLogin(manager), BrowserLogin(manager)
    try:
        a, b = first.request, second.request
        assert a.code_verifier != b.code_verifier
        assert a.state != b.state and a.nonce != b.nonce
        query = parse_qs(urlsplit(a.url).query)
        assert query["code_challenge"] == [s256(a.code_verifier)]
        assert query["code_challenge_method"] == ["S256"]
        assert a.code_verifier not in a.url and a.code_verifier not in repr(a)
        assert len(a.code_verifier) >= 43
    finally:
        first.cancel()
        second.cancel()


def test_a_callback_with_another_state_gets_a_400_page_and_is_ignored(
    manager: SessionManager, keychain: CredentialStore, browser: ScriptedBrowser
) -> None:
    login = BrowserLogin(manager)
    forged = httpx.get(
        login.receiver.redirect_uri, params={"code": "attacker-code", "state": "not-it"}
    )
    assert forged.status_code == 400 and "Not this sign-in" in forged.text
    person = Person(browser)
    person(login.url)
    assert login.complete(WAIT)["name"] == "Ada Lovelace"  # the real one still gets through
    assert "Signed in" in person.done().final.text


def test_a_second_callback_gets_a_400_page_and_is_ignored(manager: SessionManager) -> None:
    with CallbackReceiver() as receiver:
        receiver.expect("s1")
        first: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: first.append(
                httpx.get(receiver.redirect_uri, params={"code": "c1", "state": "s1"}, timeout=WAIT)
            )
        )
        thread.start()
        callback = receiver.wait(WAIT)  # the first has arrived; its tab waits for the outcome
        second = httpx.get(receiver.redirect_uri, params={"code": "c2", "state": "s1"})
        assert second.status_code == 400 and "Already done" in second.text
        receiver.finish("Signed in as Ada Lovelace: you can close this tab.")
        thread.join(WAIT)
    assert callback.code == "c1"
    assert first[0].status_code == 200 and "you can close this tab" in first[0].text


def test_a_callback_after_the_timeout_finds_nobody_listening(manager: SessionManager) -> None:
    login = BrowserLogin(manager)
    with pytest.raises(SignInTimedOut, match="Nothing was saved"):
        login.complete(timeout=0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(login.receiver.redirect_uri, params={"code": "late", "state": "x"})
    assert manager.store.load() is None


def test_cancel_on_the_tenants_page_is_sign_in_cancelled_and_saves_nothing(
    manager: SessionManager, keychain: CredentialStore, browser: ScriptedBrowser
) -> None:
    person = Person(browser, cancel=True)
    with pytest.raises(SignInCancelled) as caught:
        manager.login_with_browser(open_browser=person, timeout=WAIT)
    assert caught.value.error == "access_denied"
    assert keychain.load() is None
    assert "Sign-in failed" in person.done().final.text


def test_a_tenant_error_page_never_calls_back_and_the_sign_in_times_out(
    local_tenant: LocalTenant, keychain: CredentialStore, browser: ScriptedBrowser
) -> None:
    tenant = Tenant(local_tenant.url, "not-this-tenants-app", clock=local_tenant.clock)
    with SessionManager(tenant, keychain, clock=local_tenant.clock) as manager:
        login = BrowserLogin(manager)
        visit = play_sign_in(browser, login.url, *ADA)
        assert visit.final.title == "Unknown application" and visit.final.status == 400
        with pytest.raises(SignInTimedOut):
            login.complete(timeout=0)
    assert keychain.load() is None


def test_an_id_token_with_another_nonce_is_refused(
    manager: SessionManager, browser: ScriptedBrowser
) -> None:
    login = BrowserLogin(manager)
    try:
        visit = browser.open(login.url)
        redirect = browser.press(visit, "login", username=ADA[0], password=ADA[1])
        code = parse_qs(urlsplit(redirect.location or "").query)["code"][0]
        other = dataclasses.replace(login.request, nonce="a-nonce-from-another-sign-in")
        with pytest.raises(TokenVerificationFailed, match="nonce"):
            exchange_code(manager.client, other, code, jwks=manager.jwks)
    finally:
        login.cancel()
    assert manager.store.load() is None


def test_a_code_exchanged_twice_is_authorization_code_rejected(
    manager: SessionManager, browser: ScriptedBrowser
) -> None:
    login = BrowserLogin(manager)
    try:
        page = browser.press(browser.open(login.url), "login", username=ADA[0], password=ADA[1])
        code = parse_qs(urlsplit(page.location or "").query)["code"][0]
        assert manager.client.exchange_code(login.request, code).refresh_token
        with pytest.raises(AuthorizationCodeRejected, match="already used"):
            manager.client.exchange_code(login.request, code)
    finally:
        login.cancel()


def test_a_half_sent_request_is_dropped_and_the_real_callback_still_gets_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Attack: another program (a slowloris) sends half a request and stalls; each such
    # connection held a thread and a socket in the kernel for good, after the sign-in too.
    monkeypatch.setattr(callback_module, "READ_TIMEOUT", 0.2, raising=False)  # not 10 s
    with CallbackReceiver() as receiver:
        receiver.expect("s1")
        stalled = socket.create_connection(("127.0.0.1", receiver.port), timeout=WAIT)
        stalled.sendall(b"GET /callback?state=s1&co")
        answers: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: answers.append(
                httpx.get(receiver.redirect_uri, params={"code": "c1", "state": "s1"}, timeout=WAIT)
            )
        )
        thread.start()
        assert receiver.wait(WAIT).code == "c1"
        receiver.finish("Signed in as Ada Lovelace: you can close this tab.")
        thread.join(WAIT)
        assert answers[0].status_code == 200
        assert stalled.recv(1) == b""  # the receiver hung up on it (before: recv timed out)
        stalled.close()


def test_the_tenants_error_text_reaches_messages_short_printable_and_without_tokens(
    manager: SessionManager,
) -> None:
    # Attack: a crafted answer (a hostile tenant, or anything that learned the state) sends
    # control characters, line breaks, a token and kilobytes as error and error_description;
    # they were pasted whole into the AuthError and the description.
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlIHNpZ25hdHVyZQ"
    login = BrowserLogin(manager)
    query = {
        "state": login.request.state,
        "error": "server_error\x1b[2J\r\nInjected: yes",
        "error_description": f"It broke\r\n\x1b[31m{token}\u2028 " * 60,
    }
    thread = threading.Thread(
        target=lambda: httpx.get(login.receiver.redirect_uri, params=query, timeout=WAIT)
    )
    thread.start()
    with pytest.raises(AuthError) as caught:
        login.complete(WAIT)
    thread.join(WAIT)
    for text in (str(caught.value), caught.value.description, caught.value.error):
        assert token not in text and token[:40] not in text
        assert not any(c in text for c in "\r\n\x1b\u2028"), repr(text)
        assert len(text) < 400
    assert "It broke" in caught.value.description
    assert manager.store.load() is None


def test_a_fixed_port_for_a_real_tenants_allowed_callback_urls(manager: SessionManager) -> None:
    port = free_port()
    login = BrowserLogin(manager, port=port)
    try:
        assert login.receiver.redirect_uri == f"http://127.0.0.1:{port}/callback"
        assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in login.url
        with pytest.raises(CallbackUnavailable, match="another program uses that port"):
            CallbackReceiver(port=port)
    finally:
        login.cancel()


def test_behind_jupyter_server_proxy_the_redirect_uri_says_so() -> None:
    port = free_port()
    url = f"/user/learner/proxy/{port}/callback"
    env = {"TUTORIAL_CALLBACK_URL": url, "TUTORIAL_CALLBACK_PORT": str(port)}
    with CallbackReceiver.from_env(env) as receiver:
        assert receiver.redirect_uri == url and receiver.port == port


def test_without_a_browser_the_link_is_printed(
    manager: SessionManager, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mock for a fault the real part cannot produce on demand: no browser on this machine.
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: False)
    with pytest.raises(SignInTimedOut):
        manager.login_with_browser(timeout=0)
    err = capsys.readouterr().err
    assert "Open this link in your browser to sign in:" in err
    assert "/authorize?response_type=code" in err
