"""Credentials: absolute expiry, a redacted repr, and a versioned JSON round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_tutorial.credentials import Credentials, redact
from session_tutorial.errors import CorruptEntry, UnexpectedResponse

ACCESS = "eyJhbGciOiJSUzI1NiJ9.access-payload.access-signature-SECRET"
ID = "eyJhbGciOiJSUzI1NiJ9.id-payload.id-signature-SECRET"
REFRESH = "v1.refresh-token-SECRET-0123456789"


def token_response(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": ACCESS,
        "id_token": ID,
        "refresh_token": REFRESH,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "openid profile email offline_access",
    }
    body.update(overrides)
    return body


def test_expires_at_is_absolute_from_expires_in_and_now():
    creds = Credentials.from_token_response(token_response(), now=1_000)
    assert creds.expires_at == 4_600
    assert creds.expires_in(now=1_600) == 3_000
    assert creds.expires_in(now=5_000) == -400


def test_all_fields_come_from_the_token_response():
    creds = Credentials.from_token_response(token_response(), now=0)
    assert (creds.access_token, creds.id_token, creds.refresh_token) == (ACCESS, ID, REFRESH)
    assert creds.token_type == "Bearer"
    assert creds.scope == "openid profile email offline_access"


def test_a_response_without_refresh_token_gives_none():
    body = token_response()
    del body["refresh_token"]
    assert Credentials.from_token_response(body, now=0).refresh_token is None


@pytest.mark.parametrize(
    "broken",
    [
        {"access_token": None},
        {"access_token": ""},
        {"expires_in": None},
        {"expires_in": "3600"},
        {"expires_in": True},
        {"expires_in": float("nan")},
    ],
)
def test_a_token_response_without_access_token_or_expiry_is_unexpected(broken):
    with pytest.raises(UnexpectedResponse):
        Credentials.from_token_response(token_response(**broken), now=0)


def test_the_repr_never_shows_a_whole_token():
    text = repr(Credentials.from_token_response(token_response(), now=0))
    assert "SECRET" not in text
    for token in (ACCESS, ID, REFRESH):
        assert token not in text
        assert redact(token) in text
    assert "expires_at=3600" in text


def test_str_is_redacted_too():
    assert "SECRET" not in str(Credentials.from_token_response(token_response(), now=0))


def test_redact_keeps_six_characters_and_the_length():
    assert redact("abcdefghijklmnopqr") == "abcdef…(18 chars)"
    assert redact(None) == "None"


@pytest.mark.parametrize("token", ["a", "ab", "abc", "abcdef", "abcdefghijkl"])
def test_redact_shows_at_most_a_third_of_a_short_token(token):
    shown = redact(token).split("…")[0]
    assert len(shown) <= len(token) // 3
    assert redact(token).endswith(f"…({len(token)} chars)")


def test_json_round_trip_gives_equal_credentials():
    creds = Credentials.from_token_response(token_response(), now=1_000.5)
    assert Credentials.from_json(creds.to_json()) == creds


def test_json_entry_is_one_object_with_a_version():
    entry = json.loads(Credentials.from_token_response(token_response(), now=0).to_json())
    assert entry["version"] == 1
    assert set(entry) == {
        "version",
        "access_token",
        "id_token",
        "refresh_token",
        "token_type",
        "scope",
        "expires_at",
    }


def test_json_round_trip_keeps_missing_id_and_refresh_tokens_as_none():
    body = token_response(id_token=None, refresh_token=None)
    creds = Credentials.from_token_response(body, now=0)
    assert Credentials.from_json(creds.to_json()) == creds


@pytest.mark.parametrize(
    "entry",
    [
        "not json at all",
        "[1, 2, 3]",
        '{"version": 2, "access_token": "x"}',
        '{"access_token": "x"}',
        '{"version": 1}',
        '{"version": 1, "access_token": 5, "id_token": null, "refresh_token": null, '
        '"token_type": "Bearer", "scope": "", "expires_at": 1}',
        '{"version": 1, "access_token": "a", "id_token": null, "refresh_token": null, '
        '"token_type": "Bearer", "scope": "", "expires_at": "soon"}',
    ],
)
def test_from_json_raises_corrupt_entry_for_anything_it_did_not_write(entry):
    with pytest.raises(CorruptEntry, match="sign in again"):
        Credentials.from_json(entry)


def test_a_corrupt_entry_message_says_a_plain_sign_out_clears_it():
    with pytest.raises(CorruptEntry) as caught:
        Credentials.from_json("not json at all")
    assert "SessionManager.sign_out()" in str(caught.value)
    assert "force=True" not in str(caught.value)


def test_with_refresh_token_kept_carries_the_old_refresh_token_over():
    old = Credentials.from_token_response(token_response(), now=0)
    fresh = Credentials.from_token_response(token_response(refresh_token=None), now=100)
    kept = fresh.with_refresh_token_kept(old)
    assert kept.refresh_token == REFRESH
    assert kept.expires_at == fresh.expires_at


def test_with_refresh_token_kept_prefers_a_rotated_refresh_token():
    old = Credentials.from_token_response(token_response(), now=0)
    fresh = Credentials.from_token_response(token_response(refresh_token="v1.rotated"), now=1)
    assert fresh.with_refresh_token_kept(old).refresh_token == "v1.rotated"


def test_credentials_are_frozen():
    creds = Credentials.from_token_response(token_response(), now=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        creds.access_token = "other"  # type: ignore[misc]


# -- hostile entries: whatever the keychain holds, Credentials or CorruptEntry, no token shown

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.just(REFRESH)
    | st.text(max_size=10)
    | st.just(10**400),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)
fields = st.sampled_from(
    ["version", "access_token", "id_token", "refresh_token", "token_type", "scope", "expires_at"]
)


@settings(max_examples=100, derandomize=True, database=None, deadline=None)
@given(entry=st.dictionaries(fields, json_values, max_size=3), base=st.booleans())
def test_any_entry_is_credentials_or_corrupt_entry_and_never_quotes_a_token(entry, base):
    good = json.loads(Credentials.from_token_response(token_response(), now=0).to_json())
    data = json.dumps({**good, **entry} if base else entry)
    try:
        Credentials.from_json(data)
    except CorruptEntry as exc:
        assert REFRESH not in str(exc)
        assert "sign in again" in str(exc)


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_an_entry_nested_deeper_than_the_parser_goes_is_corrupt_not_a_recursion_error(depth):
    with pytest.raises(CorruptEntry, match="nested too deeply"):
        Credentials.from_json("[" * depth + "]" * depth)


def test_an_entry_of_megabytes_is_corrupt_without_being_parsed():
    with pytest.raises(CorruptEntry, match="characters long"):
        Credentials.from_json(json.dumps({"version": 1, "scope": "x" * (2 << 20)}))
