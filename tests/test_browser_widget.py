"""The "Sign in with the browser" widget against the real tenant, its page played by code."""

from __future__ import annotations

import json

import httpx
import pytest

from session_tutorial import CredentialStore, SessionManager
from session_tutorial.scripted_browser import ScriptedBrowser, play_sign_in
from session_tutorial.widgets import BrowserLoginWidget
from tests.provider_helpers import ADA

pytestmark = pytest.mark.integration
WAIT = 30.0  # an upper bound, never a wait


def test_the_button_shows_the_link_waits_and_turns_to_signed_in(
    manager: SessionManager, keychain: CredentialStore, browser: ScriptedBrowser
) -> None:
    widget = BrowserLoginWidget(manager, timeout=WAIT)
    seen: list[str] = []
    widget.on_signed_in(lambda profile: seen.append(profile["name"]))
    widget.button.click()
    assert widget.state == "waiting" and widget.button.disabled
    assert widget.url is not None and 'target="_blank"' in widget.link.value
    assert "Waiting for you to sign in" in widget.status.value
    visit = play_sign_in(browser, widget.url, *ADA)
    assert widget.wait(WAIT) is not None
    assert repr(widget) == "BrowserLoginWidget(signed in as Ada Lovelace)"
    assert "Signed in as Ada Lovelace" in widget.status.value and not widget.button.disabled
    assert "you can close this tab" in visit.final.text
    assert seen == ["Ada Lovelace"] and keychain.load() is not None


def test_the_widgets_state_holds_no_verifier(manager: SessionManager) -> None:
    widget = BrowserLoginWidget(manager, timeout=WAIT)
    widget.start()
    try:
        assert widget._login is not None
        verifier = widget._login.request.code_verifier
        synced = json.dumps([child.get_state() for child in widget.children])
        synced += json.dumps([w.get_state() for w in widget.children[0].children])
        assert verifier not in synced
    finally:
        widget.cancel()


def test_cancel_stops_waiting_saves_nothing_and_closes_the_port(
    manager: SessionManager, keychain: CredentialStore
) -> None:
    widget = BrowserLoginWidget(manager, timeout=WAIT)
    widget.start()
    assert widget._login is not None
    callback = widget._login.receiver.redirect_uri
    widget.cancel()
    assert widget.state == "cancelled" and repr(widget) == "BrowserLoginWidget(cancelled)"
    assert "nothing was saved" in widget.status.value.lower()
    assert keychain.load() is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(callback, params={"code": "x", "state": "y"})


def test_cancel_on_the_tenants_page_shows_cancelled(
    manager: SessionManager, keychain: CredentialStore, browser: ScriptedBrowser
) -> None:
    widget = BrowserLoginWidget(manager, timeout=WAIT)
    widget.start()
    assert widget.url is not None
    play_sign_in(browser, widget.url, *ADA, cancel=True)
    widget.wait(WAIT)
    assert widget.state == "cancelled"
    assert "cancelled on the tenant&#x27;s page" in widget.status.value
    assert keychain.load() is None


def test_a_timeout_says_so_and_the_button_works_again(manager: SessionManager) -> None:
    widget = BrowserLoginWidget(manager, timeout=0)
    widget.start()
    widget.wait(WAIT)
    assert widget.state == "timed out" and not widget.button.disabled
    assert "No sign-in came back" in widget.status.value
