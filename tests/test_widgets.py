"""The notebook widgets, driven from Python against the real local tenant over HTTP.

Buttons are pressed with ``button.click()``, time moves with the tenant's clock, and nothing
sleeps. Every widget is also checked for secrets in its synced state (what the browser receives
and a saved notebook keeps) and in its repr (what nbval compares).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as widgets
import jwt
import pytest
from ipywidgets.widgets.widget import _instances

from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    AccessDenied,
    AccountBlocked,
    KeychainUnavailable,
    RefreshTokenRejected,
    RenewalWarning,
    TokenVerificationFailed,
)
from session_tutorial.idtoken import inspect_token
from session_tutorial.provider import background
from session_tutorial.provider.forms import submit
from session_tutorial.scripted_browser import ScriptedBrowser
from session_tutorial.session import SessionManager
from session_tutorial.store import MemoryStore
from session_tutorial.tenant import Tenant, default_ssl_context
from session_tutorial.widgets import (
    DeviceLoginWidget,
    LoginForm,
    ProfileCard,
    SessionApp,
    TokenInspector,
    browser_url,
)
from session_tutorial.widgets.messages import explain
from session_tutorial.widgets.password import PasswordField
from tests.provider_helpers import TEST_API

pytestmark = pytest.mark.integration

ADA, PASSWORD, NAME = "ada@example.com", "Analytical-Engine-1843", "Ada Lovelace"
JWT_SHAPED = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def manager(local_tenant, store: MemoryStore, tmp_path: Path) -> Iterator[SessionManager]:
    """A manager on the tenant's clock, keeping its credentials in memory."""
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, store, clock=local_tenant.clock, lock_dir=tmp_path) as manager:
        yield manager


def continue_in_the_browser(manager: SessionManager, browser: ScriptedBrowser) -> None:
    """Sign ``manager`` in with the browser's login session (conftest's signed_in_browser): a
    sign-in and tokens of its own, through /authorize and "Continue as Ada Lovelace?", with no
    password typed (no Argon2id check of its own). For tests whose subject is not the sign-in."""
    followed: list[threading.Thread] = []

    def person(url: str) -> None:  # the learner at the browser
        page = browser.open(url)
        assert page.title == "Continue as Ada Lovelace?", page.text
        done = browser.press(page, "continue")
        # The callback's tab answers once the app has the tokens: it is followed meanwhile.
        followed.append(threading.Thread(target=browser.follow, args=(done,), daemon=True))
        followed[-1].start()

    manager.login_with_browser(open_browser=person, timeout=30)
    for thread in followed:
        thread.join(30)


@pytest.fixture
def signed_in(manager: SessionManager, signed_in_browser: ScriptedBrowser) -> SessionManager:
    continue_in_the_browser(manager, signed_in_browser)
    return manager


def synced_state(widget: widgets.Widget) -> list[dict[str, Any]]:
    """The state of ``widget`` and of every widget it refers to, as the browser receives it."""
    seen: dict[str, dict[str, Any]] = {}

    def visit(w: widgets.Widget) -> None:
        if w.model_id in seen:
            return
        state = w.get_state()
        seen[w.model_id] = state
        for ref in re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state, default=str)):
            if ref in _instances:
                visit(_instances[ref])

    visit(widget)
    return list(seen.values())


def assert_no_secret(widget: widgets.Widget, *secrets: str | None) -> None:
    text = json.dumps(synced_state(widget), default=str) + repr(widget)
    assert not JWT_SHAPED.search(text), f"a JWT-shaped string in {widget!r}"
    for secret in filter(None, (PASSWORD, *secrets)):
        assert secret not in text, f"a secret in {widget!r}"
    assert len(repr(widget)) < 110  # nbval cuts a widget's text/plain at 110 characters


def stored(store: MemoryStore) -> Credentials | None:
    data = store.load()
    return None if data is None else Credentials.from_json(data)


# -- the login form -------------------------------------------------------------------------


def test_signing_in_from_code_greets_the_user_by_name_and_saves_the_credentials(manager, store):
    form = LoginForm(manager)
    profile = form.sign_in(ADA, PASSWORD)
    assert profile is not None and profile["name"] == NAME
    assert "Signed in as Ada Lovelace (ada@example.com)." in form.status.value
    assert repr(form) == "LoginForm(signed in as Ada Lovelace)"
    assert form.email.value == ADA
    assert stored(store) is not None


def test_signing_in_with_the_form_saves_one_entry_in_the_real_keychain(
    local_tenant, keychain, tmp_path
):
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, keychain, clock=local_tenant.clock, lock_dir=tmp_path) as m:
        LoginForm(m).sign_in(ADA, PASSWORD)
    with SessionManager(tenant, keychain, clock=local_tenant.clock, lock_dir=tmp_path) as m:
        profile = m.restore()  # the next launch
    assert profile is not None and profile["name"] == NAME


def test_clicking_sign_in_reads_the_fields_and_clears_the_password_at_once(manager):
    form = LoginForm(manager)
    seen_during_login: list[str] = []
    real_login = manager.login

    def login(email: str, password: str) -> dict[str, Any]:
        seen_during_login.append(form.password.value)
        return real_login(email, password)

    manager.login = login
    form.email.value, form.password.value = ADA, PASSWORD
    form.button.click()
    assert seen_during_login == [""]  # cleared before the tenant was even asked
    assert form.password.value == ""
    assert form.profile is not None and form.profile["email"] == ADA


def test_the_button_shows_it_is_busy_while_the_tenant_answers(manager):
    form = LoginForm(manager)
    during: list[tuple[bool, str]] = []
    real_login = manager.login

    def login(email: str, password: str) -> dict[str, Any]:
        during.append((form.button.disabled, form.button.description))
        return real_login(email, password)

    manager.login = login
    form.sign_in(ADA, PASSWORD)
    assert during == [(True, "Signing in…")]
    assert (form.button.disabled, form.button.description) == (False, "Sign in")


def test_a_wrong_password_says_so_and_clears_the_field(manager):
    form = LoginForm(manager)
    form.email.value, form.password.value = ADA, "not-the-password"
    form.button.click()
    assert form.password.value == ""
    assert "Wrong email or password" in form.status.value
    assert repr(form) == "LoginForm(error: wrong email or password)"
    assert form.profile is None
    assert not manager.has_valid()


def test_a_blocked_account_says_an_admin_must_unblock_it_and_how(manager, local_tenant):
    form = LoginForm(manager)
    try:
        for _ in range(10):
            assert form.sign_in(ADA, "not-the-password") is None
        assert form.sign_in(ADA, PASSWORD) is None
        assert "blocked" in form.status.value
        assert "administrator must unblock" in form.status.value
        assert "python -m session_tutorial.provider unblock ada@example.com" in form.status.value
        assert repr(form) == "LoginForm(error: account blocked)"
    finally:
        local_tenant.unblock(ADA)
    assert form.sign_in(ADA, PASSWORD) is not None


def test_an_unreachable_tenant_says_how_to_start_the_local_one(tmp_path):
    tenant = Tenant(f"http://127.0.0.1:{background.free_port()}", "tutorial-app")
    with SessionManager(tenant, MemoryStore(), lock_dir=tmp_path) as manager:
        form = LoginForm(manager)
        assert form.sign_in(ADA, PASSWORD) is None
    assert "did not answer" in form.status.value
    assert "python -m session_tutorial.provider start" in form.status.value
    assert repr(form) == "LoginForm(error: tenant not reachable)"


def test_empty_fields_ask_for_both_without_asking_the_tenant(manager):
    form = LoginForm(manager)
    manager.login = None  # would fail if called
    form.email.value = ADA
    form.button.click()
    assert "Enter your email and your password" in form.status.value


def test_a_keychain_that_cannot_save_is_reported_after_signing_in(local_tenant, tmp_path):
    class LockedStore(MemoryStore):
        def save(self, data: str) -> None:
            raise KeychainUnavailable("The keychain is locked (a test double).")

    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, LockedStore(), clock=local_tenant.clock, lock_dir=tmp_path) as m:
        form = LoginForm(m)
        assert form.sign_in(ADA, PASSWORD) is not None  # no StoreWarning escapes the form
    assert "could not be saved in the keychain" in form.status.value
    assert "keychain is locked" in form.status.value


def test_signed_in_callbacks_receive_the_profile(manager):
    form = LoginForm(manager)
    names: list[str] = []
    form.on_signed_in(lambda profile: names.append(profile["name"]))
    form.sign_in(ADA, "not-the-password")
    form.sign_in(ADA, PASSWORD)
    assert names == [NAME]


def test_the_login_form_keeps_no_password_or_token_in_its_state_or_repr(manager):
    form = LoginForm(manager)
    form.email.value, form.password.value = ADA, PASSWORD
    form.button.click()
    credentials = manager.credentials()
    assert_no_secret(
        form, credentials.access_token, credentials.id_token, credentials.refresh_token
    )
    assert not any(PASSWORD in str(value) for value in vars(form).values())


def typed(field: PasswordField, text: str) -> None:
    """What the browser sends as the learner types into the field: a message, not state."""
    field._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"password": text}}}, "buffers": []}
    )


def families(local_tenant) -> int:
    """How many refresh-token families (sign-ins) the tenant holds for Ada."""
    return len(local_tenant.control.sessions(ADA))


def test_a_password_typed_in_the_browser_is_never_widget_state(manager):
    form = LoginForm(manager, email=ADA)
    typed(form.password, PASSWORD)  # typed, not submitted yet: the moment a notebook is saved
    assert form.password.value == PASSWORD  # the kernel has it, for the button...
    state = json.dumps(synced_state(form))
    assert PASSWORD not in state  # ... but the widget state (saved with the notebook) does not
    assert '"value"' not in json.dumps(form.password.get_state())
    form.button.click()
    assert form.password.value == ""
    assert form.profile is not None and form.profile["email"] == ADA


def test_pressing_enter_in_the_password_field_signs_in(manager):
    form = LoginForm(manager)
    form.email.value = ADA
    typed(form.password, PASSWORD)
    form.password._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"submit": True}}}, "buffers": []}
    )
    assert form.profile is not None and form.profile["email"] == ADA


def test_a_message_that_is_not_a_password_is_ignored(manager):
    field = LoginForm(manager).password
    for content in (["x"], {"password": 42}, {"password": "x" * 5000}, {"submit": "yes"}):
        field._handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )
    assert field.value == ""


def test_a_double_click_on_sign_in_keeps_the_success_and_signs_in_once(manager, local_tenant):
    before = families(local_tenant)
    form = LoginForm(manager)
    form.email.value = ADA
    typed(form.password, PASSWORD)
    form.button.click()
    form.button.click()  # the second click of a double click, queued behind the first
    assert "Signed in as Ada Lovelace (ada@example.com)." in form.status.value
    assert repr(form) == "LoginForm(signed in as Ada Lovelace)"
    assert families(local_tenant) == before + 1


def test_a_double_click_after_a_wrong_password_keeps_saying_it_was_wrong(manager):
    form = LoginForm(manager)
    form.email.value = ADA
    typed(form.password, "not-the-password")
    form.button.click()
    form.button.click()
    assert "Wrong email or password" in form.status.value


def test_a_click_while_signing_in_is_ignored(manager):
    form = LoginForm(manager)
    calls: list[str] = []
    real_login = manager.login

    def login(email: str, password: str) -> dict[str, Any]:
        calls.append(email)
        form.button.click()  # arrives while the first sign-in runs
        return real_login(email, password)

    manager.login = login
    form.sign_in(ADA, PASSWORD)
    assert calls == [ADA]
    assert "Signed in as" in form.status.value


def test_running_the_sign_in_cell_again_keeps_a_sign_in_made_with_the_button(manager, local_tenant):
    before = families(local_tenant)
    form = LoginForm(manager)
    form.email.value = ADA
    typed(form.password, PASSWORD)
    form.button.click()  # the learner, by hand
    assert form.sign_in(ADA, PASSWORD) is not None  # then the notebook's cell, run in order
    assert families(local_tenant) == before + 1
    assert "Signed in as Ada Lovelace" in form.status.value


# -- the token inspector and the profile card -----------------------------------------------


def test_the_inspector_shows_header_claims_and_expiry_but_only_counts_the_signature(signed_in):
    credentials = signed_in.credentials()
    inspector = TokenInspector(credentials, now=signed_in.clock())
    html = inspector.html.value
    for shown in ("Header", "Claims", "RS256", "kid", "email", ADA, NAME, "expires in 10 h"):
        assert shown in html
    assert credentials.id_token is not None
    signature = credentials.id_token.rsplit(".", 1)[1]
    assert signature not in html
    assert "signature: &lt;elided, 256 bytes&gt;" in html  # RS256 with a 2048-bit key
    assert repr(inspector) == "TokenInspector(RS256 ID token, sub=auth0|…, expires in 10 h)"
    assert_no_secret(inspector, credentials.id_token, signature)


def test_the_inspector_says_how_long_ago_a_token_expired(signed_in):
    id_token = signed_in.credentials().id_token
    assert id_token is not None
    exp = inspect_token(id_token).claims["exp"]
    inspector = TokenInspector(id_token, now=exp + 180)
    assert "expired 3 min ago" in inspector.html.value
    assert repr(inspector).endswith(", expired 3 min ago)")


def test_the_inspector_tells_an_access_token_from_an_id_token(api_tenant_url, tmp_path):
    # An access token is a JWT only when asked for with an API audience (as Auth0 issues them).
    tenant = Tenant(api_tenant_url, "tutorial-app", audience=TEST_API)
    with SessionManager(tenant, MemoryStore(), lock_dir=tmp_path) as m:
        m.login(ADA, PASSWORD)
        inspector = TokenInspector(m.credentials().access_token, now=m.clock())
    assert repr(inspector).startswith("TokenInspector(RS256 access token,")
    assert repr(inspector).endswith("expires in 1 h)")


def test_the_inspector_says_an_opaque_access_token_has_nothing_to_show(signed_in):
    # Without an API audience the tenant, like Auth0, issues an opaque access token.
    with pytest.raises(TokenVerificationFailed, match="not a JWT, so there is nothing to show"):
        TokenInspector(signed_in.credentials().access_token, now=signed_in.clock())


def test_credentials_without_an_id_token_cannot_be_inspected():
    credentials = Credentials("at", None, None, "Bearer", "", 0.0)
    with pytest.raises(ValueError, match="no ID token"):
        TokenInspector(credentials)


def test_the_profile_card_shows_name_email_badge_and_sub_without_loading_the_picture(signed_in):
    profile = {**signed_in.user, "picture": "https://example.com/ada.png"}
    card = ProfileCard(profile)
    for shown in (NAME, ADA, profile["sub"], "AL"):
        assert shown in card.value
    assert "<img" not in card.value
    badge = "verified" if profile.get("email_verified") else "unverified"
    assert repr(card) == f"ProfileCard(Ada Lovelace, ada@example.com, {badge})"
    assert "<img" in ProfileCard(profile, show_picture=True).value
    assert_no_secret(card)


def test_a_profile_card_for_nobody_says_signed_out():
    card = ProfileCard(None)  # what restore() returns after signing out
    assert repr(card) == "ProfileCard(signed out)"
    assert "Signed out" in card.value and "Nobody is signed in" in card.value


def test_an_inspector_for_no_token_says_signed_out():
    inspector = TokenInspector(None)
    assert repr(inspector) == "TokenInspector(no token: signed out)"
    assert "nobody is signed in" in inspector.html.value


def test_an_unverified_email_gets_no_verified_badge():
    card = ProfileCard({"sub": "auth0|x", "name": "Alan Turing", "email": "alan@example.com"})
    assert "not verified" in card.value
    assert repr(card) == "ProfileCard(Alan Turing, alan@example.com, unverified)"


# -- the session app ------------------------------------------------------------------------


def test_the_session_app_counts_down_as_the_clock_advances(signed_in, local_tenant):
    app = SessionApp(signed_in)
    assert repr(app) == "SessionApp(signed in as Ada Lovelace)"
    assert "Signed in as Ada Lovelace" in app.who.value
    left = app.tick()
    assert left is not None and 3590 < left <= 3600
    local_tenant.advance_clock(1800)
    left = app.tick()
    assert left is not None and 1790 < left <= 1800
    assert re.search(r"Access token expires in <b>(29 min 5\d|30 min 0) s</b>", app.countdown.value)
    local_tenant.advance_clock(1900)
    assert app.tick() < 0  # counted down, and not renewed behind the learner's back
    assert "expired 1 min" in app.countdown.value
    assert "press Refresh" in app.countdown.value
    assert_no_secret(app, *_tokens(signed_in))


def test_a_crafted_entrys_name_puts_no_token_and_no_control_character_in_the_app(
    signed_in, store, local_tenant, tmp_path
):
    # Attack: the stored entry is rewritten; the app names the user from its ID token, read
    # unverified for display, whose name claim carries escapes and the entry's refresh token.
    saved = stored(store)
    assert saved is not None and saved.refresh_token is not None
    claims = {"name": f"\x1b[2J\nMallory {saved.refresh_token} " + "x" * 5000, "email": "m@x"}
    forged = jwt.encode(claims, "k" * 32, algorithm="HS256")
    store.save(dataclasses.replace(saved, id_token=forged).to_json())
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, store, clock=local_tenant.clock, lock_dir=tmp_path) as fresh:
        app = SessionApp(fresh)
        assert "Mallory" in app.who.value
        assert "\x1b" not in app.who.value and "\x1b" not in repr(app)
        assert_no_secret(app, saved.refresh_token, saved.access_token)


def test_the_session_app_with_an_injected_clock_needs_no_tenant_clock(signed_in):
    now = [signed_in.clock()]
    app = SessionApp(signed_in, clock=lambda: now[0])
    now[0] += 3000
    assert 590 < app.tick() <= 600
    assert re.search(r"Access token expires in <b>(9 min 5\d|10 min 0) s</b>", app.countdown.value)


def test_the_refresh_button_renews_and_says_the_refresh_token_rotated(signed_in, store):
    app = SessionApp(signed_in)
    before = stored(store)
    app.refresh_button.click()
    after = stored(store)
    assert before is not None and after is not None
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token
    assert "Renewed: a new access token, valid for 1 h." in app.status.value
    assert app.message.startswith("Renewed: a new access token, valid for 1 h.")  # plain text
    assert "refresh token was rotated" in app.status.value
    assert_no_secret(app, *_tokens(signed_in), before.refresh_token)


def test_the_sign_out_button_revokes_the_refresh_token_and_clears_the_store(signed_in, store):
    app = SessionApp(signed_in)
    before = stored(store)
    assert before is not None and before.refresh_token is not None
    app.sign_out_button.click()
    assert store.load() is None
    assert "Signed out" in app.status.value
    assert repr(app) == "SessionApp(signed out)"
    assert app.refresh_button.disabled and app.sign_out_button.disabled
    with pytest.raises(RefreshTokenRejected):
        signed_in.client.refresh(before.refresh_token)


def test_refreshing_a_session_an_admin_revoked_says_sign_in_again(signed_in, local_tenant, store):
    app = SessionApp(signed_in)
    local_tenant.revoke_user(ADA)
    app.refresh_button.click()
    assert "Sign in again" in app.status.value
    assert repr(app) == "SessionApp(signed out)"
    assert store.load() is None


def test_signing_out_while_the_tenant_is_down_keeps_the_credentials(signed_in, store, tmp_path):
    down = Tenant(f"http://127.0.0.1:{background.free_port()}", "tutorial-app")
    with SessionManager(down, store, clock=signed_in.clock, lock_dir=tmp_path) as offline:
        app = SessionApp(offline)
        app.sign_out_button.click()
    assert "did not answer" in app.status.value
    assert "Your credentials are kept" in app.status.value
    assert "sign_out(force=True)" in app.status.value
    assert repr(app) == "SessionApp(signed in as Ada Lovelace)"
    assert stored(store) is not None


def test_auto_renew_renews_the_access_token_shortly_before_it_expires(signed_in, local_tenant):
    app = SessionApp(signed_in, auto_renew=True, min_ttl=60)
    first = signed_in.credentials().access_token
    local_tenant.advance_clock(3590)
    left = app.tick()
    assert left is not None and left > 3500
    assert signed_in.credentials().access_token != first
    assert "renewed automatically" in app.status.value


def test_auto_renew_offline_keeps_the_still_valid_token_and_says_so(
    signed_in, local_tenant, store, tmp_path
):
    # Real, not injected: nothing listens on port 9, as when the Wi-Fi is gone.
    offline_tenant = Tenant("http://127.0.0.1:9", "tutorial-app")
    with SessionManager(offline_tenant, store, clock=local_tenant.clock, lock_dir=tmp_path) as off:
        app = SessionApp(off, auto_renew=True, min_ttl=60)
        local_tenant.advance_clock(3600 - 30)  # 30 s left, inside min_ttl
        with pytest.warns(RenewalWarning):
            left = app.tick()
        assert left is not None and 0 < left <= 30
        assert "Renewing early failed" in app.status.value and "still valid" in app.status.value
        assert "Signed in as Ada Lovelace" in app.who.value


def test_the_session_app_buttons_are_disabled_while_their_request_runs(signed_in):
    app = SessionApp(signed_in)
    during: list[tuple[bool, bool]] = []
    real_renew = signed_in.renew

    def renew():
        during.append((app.refresh_button.disabled, app.sign_out_button.disabled))
        return real_renew()

    signed_in.renew = renew
    app.refresh_button.click()
    assert during == [(True, True)]
    assert not app.refresh_button.disabled and not app.sign_out_button.disabled


def test_a_double_click_on_sign_out_keeps_saying_signed_out(signed_in):
    app = SessionApp(signed_in)
    app.sign_out_button.click()
    shown = app.status.value
    app.sign_out_button.click()  # queued behind the first: the button is disabled by now
    assert app.status.value == shown
    assert "revoked at the tenant" in app.status.value


def test_a_renewed_message_does_not_outlive_the_token_it_was_about(signed_in, local_tenant):
    app = SessionApp(signed_in)
    app.refresh_button.click()
    assert "Renewed" in app.status.value
    local_tenant.advance_clock(3700)
    app.tick()
    assert "expired" in app.countdown.value
    assert "Renewed" not in app.status.value
    assert "expired since" in app.status.value


def test_commands_in_status_messages_are_set_in_monospace_not_backticks(tmp_path):
    tenant = Tenant(f"http://127.0.0.1:{background.free_port()}", "tutorial-app")
    with SessionManager(tenant, MemoryStore(), lock_dir=tmp_path) as manager:
        form = LoginForm(manager)
        form.sign_in(ADA, PASSWORD)
    assert "`" not in form.status.value
    assert "<code>" in form.status.value


def test_the_session_app_of_a_signed_out_manager_offers_no_buttons(manager):
    app = SessionApp(manager)
    assert app.tick() is None
    assert repr(app) == "SessionApp(signed out)"
    assert app.refresh_button.disabled and app.sign_out_button.disabled


def test_the_countdown_thread_starts_and_stops(signed_in):
    app = SessionApp(signed_in)
    app.start_countdown(interval=3600)  # the test stops it long before it would tick
    assert any(t.name == "session-app-countdown" for t in threading.enumerate())
    app.stop_countdown()
    assert not any(t.name == "session-app-countdown" for t in threading.enumerate())


# -- the device login widget ----------------------------------------------------------------


def decide(local_tenant, user_code: str, action: str) -> None:
    """What the learner does on the tenant's /activate page in a browser."""
    form = {"user_code": user_code, "username": ADA, "password": PASSWORD, "action": action}
    with httpx.Client(verify=default_ssl_context()) as browser:
        response = submit(browser, f"{local_tenant.url}/activate", form)
    assert response.status_code == 200, response.text


def test_a_device_login_approved_on_the_tenants_page_signs_in(manager, local_tenant, store):
    device = DeviceLoginWidget(manager)
    assert repr(device) == "DeviceLoginWidget(not started)"
    device.begin()
    code = device.user_code
    assert code is not None and code in device.code.value
    url = device.verification_url
    assert url is not None and url.startswith(local_tenant.url) and code in url
    assert f"<a href='{url}' target='_blank'" in device.link.value
    assert repr(device) == "DeviceLoginWidget(waiting for approval)"
    profiles: list[dict[str, Any]] = []
    device.on_signed_in(profiles.append)

    assert device.poll_once() is None  # nobody has approved yet
    assert "polled once, every 5 s; the code expires in 15 min" in device.progress.value
    decide(local_tenant, code, "approve")
    local_tenant.advance_clock(device.interval)
    profile = device.poll_once()

    assert profile is not None and profile["name"] == NAME
    assert profiles == [profile]
    assert device.state == "signed in"
    assert "Signed in as Ada Lovelace (ada@example.com)." in device.status.value
    assert repr(device) == "DeviceLoginWidget(signed in as Ada Lovelace)"
    assert stored(store) is not None
    assert_no_secret(device, *_tokens(manager))


def test_polling_again_after_the_approval_keeps_the_sign_in(manager, local_tenant, store):
    before = families(local_tenant)
    device = DeviceLoginWidget(manager)
    device.begin()
    assert device.user_code is not None
    decide(local_tenant, device.user_code, "approve")
    device.interval = 0.01
    device.start()  # the learner's background poller turns it to "signed in"
    assert device.wait(timeout=10) is not None
    saved = stored(store)
    assert device.poll_once() is not None  # the notebook's next cell, run in order
    device.start()
    assert device.state == "signed in" and device.user_code is None
    assert "href" not in device.link.value and "cannot be used again" in device.link.value
    assert "Signed in as Ada Lovelace" in device.status.value
    assert stored(store) == saved
    assert families(local_tenant) == before + 1


def test_a_device_login_denied_on_the_tenants_page_says_so(manager, local_tenant, store):
    device = DeviceLoginWidget(manager)
    device.begin()
    assert device.user_code is not None
    decide(local_tenant, device.user_code, "deny")
    assert device.poll_once() is None
    assert device.state == "denied"
    assert "denied" in device.status.value
    assert repr(device) == "DeviceLoginWidget(denied)"
    assert isinstance(device.error, AccessDenied)
    assert not isinstance(device.error, AccountBlocked)
    assert "blocked" not in device.status.value
    assert store.load() is None


def test_access_denied_outside_a_device_login_is_explained_as_access_denied_not_blocked():
    denied = AccessDenied(
        "The tenant refused the request: check AUTH0_CLIENT_ID.",
        error="access_denied",
        status_code=401,
    )
    message = explain(denied, Tenant("http://127.0.0.1:8941", "tutorial-app"))
    assert message.label == "access denied"
    assert "AUTH0_CLIENT_ID" in message.text


def test_a_device_code_nobody_approves_expires_with_a_message(manager, local_tenant):
    device = DeviceLoginWidget(manager)
    device.begin()
    local_tenant.advance_clock(901)
    assert device.poll_once() is None
    assert device.state == "expired"
    assert "expired before anyone approved it" in device.status.value
    assert repr(device) == "DeviceLoginWidget(code expired)"


def test_polling_too_fast_follows_the_tenants_slow_down(manager, local_tenant):
    device = DeviceLoginWidget(manager)
    device.begin()
    device.poll_once()
    device.poll_once()  # at once: faster than the interval
    assert device.state == "waiting"
    assert device.interval == 10  # RFC 8628: five seconds more


def test_the_background_poller_ends_once_the_login_is_approved(manager, local_tenant):
    device = DeviceLoginWidget(manager)
    device.begin()
    assert device.user_code is not None
    decide(local_tenant, device.user_code, "approve")
    device.interval = 0.01  # approved already: the first poll succeeds, no need to wait 5 s
    device.start()
    profile = device.wait(timeout=10)
    assert profile is not None and profile["name"] == NAME
    assert device.state == "signed in"


def test_a_device_login_with_the_tenant_down_says_how_to_start_it(tmp_path):
    tenant = Tenant(f"http://127.0.0.1:{background.free_port()}", "tutorial-app")
    with SessionManager(tenant, MemoryStore(), lock_dir=tmp_path) as manager:
        device = DeviceLoginWidget(manager)
        device.start()
    assert device.state == "error"
    assert "python -m session_tutorial.provider start" in device.status.value
    assert repr(device) == "DeviceLoginWidget(error: tenant not reachable)"


def test_the_verification_link_goes_to_the_browser_unchanged():
    url = "http://127.0.0.1:8765/activate?user_code=WDJB-MJHT"
    assert browser_url(url) == url


def _tokens(manager: SessionManager) -> tuple[str | None, ...]:
    credentials = manager.credentials()
    return credentials.access_token, credentials.id_token, credentials.refresh_token


def test_the_session_app_shows_when_an_unused_session_ends(
    local_tenant, tmp_path, signed_in_browser
):
    tenant = Tenant.local()  # reads the inactivity lifetime the running tenant publishes
    assert tenant.base_url == local_tenant.url
    assert tenant.refresh_token_idle_lifetime == 15 * 24 * 3600  # Auth0's default
    with SessionManager(tenant, MemoryStore(), lock_dir=tmp_path) as manager:
        continue_in_the_browser(manager, signed_in_browser)
        app = SessionApp(manager)
        assert "If unused, the session ends in about <b>15 d</b>" in app.countdown.value
        local_tenant.advance_clock(2 * 24 * 3600)  # two days unused...
        app.tick()
        assert "the session ends in about <b>13 d</b>" in app.countdown.value
        app.refresh()  # ...then a renewal starts the inactivity lifetime again
        assert "the session ends in about <b>15 d</b>" in app.countdown.value
        local_tenant.advance_clock(16 * 24 * 3600)
        app.tick()
        assert "Unused for too long" in app.countdown.value
        assert app.refresh() is None  # the tenant agrees: the family ended
        assert "rejected" in app.status.value


def test_a_tenant_that_does_not_publish_its_inactivity_lifetime_shows_no_end(signed_in):
    app = SessionApp(signed_in)  # Tenant(url, client_id): nothing configured
    assert "If unused" not in app.countdown.value and signed_in.ends_if_unused() is None


def test_the_inactivity_lifetime_can_be_configured_for_your_tenant():
    env = {"AUTH0_DOMAIN": "x.auth0.com", "AUTH0_CLIENT_ID": "abc"}
    tenant = Tenant.from_env({**env, "AUTH0_REFRESH_TOKEN_IDLE_LIFETIME": "86400"})
    assert tenant.refresh_token_idle_lifetime == 86400
    with pytest.raises(ValueError, match="number of seconds"):
        Tenant.from_env({**env, "AUTH0_REFRESH_TOKEN_IDLE_LIFETIME": "a fortnight"})
    with pytest.raises(ValueError, match="number of seconds"):
        Tenant.from_env({**env, "AUTH0_REFRESH_TOKEN_IDLE_LIFETIME": "nan"})
