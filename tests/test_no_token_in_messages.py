"""Never a whole token in a message, a repr or a log, whatever the input.

Hostile input comes from three places: a keychain entry (a token with a newline, a NUL, a lone
surrogate), a tenant's answer (one that echoes what it got), and the libraries underneath
(h11 quoting the header it refused). Every error must still be one of ours, and say what to do.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keyring.backends import SecretService

from session_tutorial.client import AuthClient
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    AccessTokenRejected,
    CorruptEntry,
    RefreshTokenRejected,
    SessionError,
    UnexpectedResponse,
    WrongCredentials,
)
from session_tutorial.sanitize import excerpt
from session_tutorial.session import SessionManager
from session_tutorial.tenant import Tenant

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"
HOSTILE = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Tokens as a crafted or damaged entry may hold them: mostly token characters, with the
# characters that break an HTTP header or a form thrown in.
token_chars = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/="
)
hostile_chars = st.sampled_from(["\n", "\r\n", "\x00", "\x7f", " ", "é", "\u2028", "\ud800", "'"])
hostile_tokens = st.lists(
    st.one_of(token_chars, token_chars, token_chars, hostile_chars), min_size=8, max_size=120
).map("".join)


def assert_not_quoted(token: str, *texts: str) -> None:
    forms = {token, repr(token)[1:-1], json.dumps(token)[1:-1]}
    forms.add(repr(token.encode("utf-8", "backslashreplace"))[2:-1])
    for text in texts:
        for form in forms:
            assert form not in text, f"{form!r} in {text!r}"


# -- the sanitiser on its own --------------------------------------------------------------


@HOSTILE
@given(
    secret=hostile_tokens,
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    form=st.sampled_from(["raw", "repr", "bytes", "json"]),
)
def test_an_excerpt_never_holds_a_secret_however_it_was_quoted(secret, before, after, form):
    quoted = {
        "raw": secret,
        "repr": repr(secret),
        "bytes": repr(secret.encode("utf-8", "backslashreplace")),
        "json": json.dumps(secret),
    }[form]
    shown = excerpt(f"{before}{quoted}{after}", [secret])
    assert_not_quoted(secret, shown)
    assert "\n" not in shown
    assert len(shown) <= 200


def test_an_excerpt_redacts_a_jwt_it_was_not_told_about():
    jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhdXRoMHwxMjMifQ.c2lnbmF0dXJlMTIz"
    assert jwt not in excerpt(f"upstream said: bad token {jwt}")


def test_an_excerpt_keeps_host_names_and_words_readable():
    text = "dev-8k2xq7w5zv1m3n4p.us.auth0.com refused: invalid_client_configuration"
    assert excerpt(text) == text


def test_a_stack_trace_is_never_shown():
    trace = 'Traceback (most recent call last):\n  File "/srv/app.py", line 3, in <module>\n'
    assert excerpt(f"Internal error\n{trace}KeyError: 'x'") == "(a stack trace, not shown)"
    java = "java.lang.NullPointerException\n\tat com.example.Token.check(Token.java:42)\n"
    assert excerpt(java) == "(a stack trace, not shown)"


# -- a tenant that echoes what it got (the real one never does: MockTransport) -------------


@HOSTILE
@given(
    token=st.lists(token_chars | st.sampled_from(" '\"<>"), min_size=8, max_size=80).map("".join)
)
def test_an_error_answer_echoing_the_refresh_token_does_not_reach_the_message(token):
    def echo(request: httpx.Request) -> httpx.Response:
        said = f"unknown refresh token {token} from {request.url}"
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": said})

    client = AuthClient(Tenant("example.auth0.com", "app"), transport=httpx.MockTransport(echo))
    with pytest.raises(RefreshTokenRejected) as caught:
        client.refresh(token)
    assert_not_quoted(token, str(caught.value), repr(caught.value), caught.value.description)


# -- hostile tokens sent to the real tenant ------------------------------------------------


@pytest.fixture
def real_client(local_tenant):
    with AuthClient(Tenant(local_tenant.url, "tutorial-app"), clock=local_tenant.clock) as client:
        yield client


@pytest.mark.integration
@HOSTILE
@given(token=hostile_tokens, call=st.sampled_from(["userinfo", "refresh", "revoke"]))
def test_a_hostile_token_sent_to_the_real_tenant_is_never_quoted(real_client, caplog, token, call):
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            getattr(real_client, call)(token)
        except SessionError as exc:  # anything else fails the test
            assert_not_quoted(token, str(exc), repr(exc), caplog.text)
            assert isinstance(exc, (AccessTokenRejected, RefreshTokenRejected)), exc
        else:
            assert call == "revoke"  # revoking an unknown token is not an error (RFC 7009)
    assert_not_quoted(token, caplog.text)


@pytest.mark.integration
def test_an_access_token_with_a_newline_is_not_sent_and_not_quoted(real_client):
    credentials = real_client.login(ADA, PASSWORD)
    token = credentials.access_token
    cut = len(token) // 2
    damaged = f"{token[:cut]}\n{token[cut:]}"
    with pytest.raises(AccessTokenRejected, match="damaged") as caught:
        real_client.userinfo(damaged)
    assert not caught.value.retryable
    assert_not_quoted(damaged, str(caught.value), repr(caught.value))
    for half in (token[:cut], token[cut:]):
        assert half not in str(caught.value)


@pytest.mark.integration
def test_a_password_with_a_lone_surrogate_is_wrong_credentials_not_a_unicode_error(real_client):
    with pytest.raises(WrongCredentials, match="cannot be sent"):
        real_client.login(ADA, "Analytical-\ud800-Engine")


def test_a_device_code_answer_with_an_unsendable_code_is_unexpected():
    body = {"device_code": "dc\n1", "user_code": "ABCD", "verification_uri": "x", "expires_in": 9}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    client = AuthClient(Tenant("example.auth0.com", "app"), transport=transport)
    with pytest.raises(UnexpectedResponse, match="device_code"):
        client.start_device_login()


# -- a damaged entry in the real keychain, restored against the real tenant ----------------


@pytest.fixture
def launch(local_tenant, tmp_path: Path):
    managers: list[SessionManager] = []

    def make(store) -> SessionManager:
        tenant = Tenant(local_tenant.url, "tutorial-app")
        managers.append(SessionManager(tenant, store, clock=local_tenant.clock, lock_dir=tmp_path))
        return managers[-1]

    yield make
    for manager in managers:
        manager.close()


def damage(keychain, **changes: str) -> Credentials:
    stored = Credentials.from_json(keychain.load())
    broken = replace(stored, **changes)
    SecretService.Keyring().set_password(keychain.service, keychain.account, broken.to_json())
    return broken


@pytest.mark.integration
def test_an_entry_whose_access_token_has_a_newline_is_renewed_not_a_network_error(launch, keychain):
    launch(keychain).login(ADA, PASSWORD)
    token = Credentials.from_json(keychain.load()).access_token
    damage(keychain, access_token=f"{token[:100]}\n{token[100:]}")
    assert launch(keychain).restore()["name"] == "Ada Lovelace"  # renewed with the refresh token
    assert "\n" not in Credentials.from_json(keychain.load()).access_token


@pytest.mark.integration
def test_an_entry_whose_tokens_are_both_damaged_signs_out_with_a_reason_and_no_token(
    launch, keychain
):
    launch(keychain).login(ADA, PASSWORD)
    stored = Credentials.from_json(keychain.load())
    cut = len(stored.access_token) // 2
    broken = damage(
        keychain,
        access_token=f"{stored.access_token[:cut]}\n{stored.access_token[cut:]}",
        refresh_token=f"{stored.refresh_token}\x00",
    )
    manager = launch(keychain)
    assert manager.restore() is None
    assert "Sign in again" in manager.last_reason
    assert_not_quoted(broken.access_token, manager.last_reason, repr(manager))
    assert_not_quoted(broken.refresh_token, manager.last_reason, repr(manager))
    assert keychain.load() is None


@pytest.mark.integration
@pytest.mark.parametrize("field", ["expires_at", "version"])
def test_a_token_planted_in_another_field_of_the_entry_is_not_quoted(launch, keychain, field):
    launch(keychain).login(ADA, PASSWORD)
    entry = json.loads(keychain.load())
    planted = entry[field] = entry["refresh_token"]
    SecretService.Keyring().set_password(keychain.service, keychain.account, json.dumps(entry))
    with pytest.raises(CorruptEntry) as caught:
        launch(keychain).restore()
    assert_not_quoted(planted, str(caught.value), repr(caught.value))
