"""verify_id_token and the JWKS cache: every way an ID token must be refused, one test each."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from session_tutorial.client import AuthClient
from session_tutorial.errors import NetworkError, TokenVerificationFailed
from session_tutorial.idtoken import MAX_LIFETIME, JwksCache, inspect_token, verify_id_token
from session_tutorial.tenant import Tenant
from tests.provider_helpers import TEST_API, signing_key

TENANT = Tenant("http://127.0.0.1:8941", "tutorial-app")
# Ten days ahead of the wall clock: the notebooks move the tenant's and the client's clocks
# forward together, so verification must use the injected `now`, never time.time().
NOW = time.time() + 10 * 86400
KID = "key-1"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return signing_key()  # the test process's one key (other_key is a stranger's)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str = KID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class KeySource:
    """Stands in for GET /.well-known/jwks.json and counts the fetches."""

    def __init__(self, *jwks: dict[str, Any]) -> None:
        self.keys = list(jwks)
        self.fetches = 0
        self.fail_with: Exception | None = None

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        if self.fail_with is not None:
            raise self.fail_with
        return {"keys": self.keys}


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def source(key: rsa.RSAPrivateKey) -> KeySource:
    return KeySource(public_jwk(key))


@pytest.fixture
def cache_clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(source: KeySource, cache_clock: Clock) -> JwksCache:
    return JwksCache(source, clock=cache_clock)


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": TENANT.issuer,
        "sub": "auth0|ada",
        "aud": TENANT.client_id,
        "iat": int(NOW),
        "exp": int(NOW) + 36000,
        "name": "Ada Lovelace",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def mint(key: rsa.RSAPrivateKey, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
    return jwt.encode(
        claims(**overrides), key, algorithm="RS256", headers={"kid": KID, **(headers or {})}
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(token: str, jwks: JwksCache, **kwargs: Any) -> dict[str, Any]:
    return verify_id_token(token, TENANT, now=kwargs.pop("now", NOW), jwks=jwks, **kwargs)


def test_a_good_token_verifies_and_returns_its_claims(key, jwks):
    assert verify(mint(key), jwks)["name"] == "Ada Lovelace"


def test_a_token_minted_after_the_clocks_moved_forward_verifies_with_the_injected_now(key, jwks):
    later = NOW + 7 * 86400
    token = mint(key, iat=int(later), exp=int(later) + 600)
    assert verify(token, jwks, now=later)["sub"] == "auth0|ada"


# -- algorithm and signature -------------------------------------------------------------


def test_alg_none_is_rejected(jwks):
    token = jwt.encode(claims(), None, algorithm="none", headers={"kid": KID})
    with pytest.raises(TokenVerificationFailed, match="only RS256"):
        verify(token, jwks)


def test_hs256_signed_with_the_public_key_pem_is_rejected(key, jwks):
    # The key-confusion attack (CVE-2022-29217): sign with HMAC using the public key as secret.
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = ".".join(
        [
            b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode()),
            b64(json.dumps(claims()).encode()),
        ]
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(TokenVerificationFailed, match="only RS256"):
        verify(f"{signing_input}.{b64(signature)}", jwks)


def test_a_tampered_payload_is_rejected(key, jwks):
    header, _, signature = mint(key).split(".")
    forged_payload = b64(json.dumps(claims(sub="auth0|mallory")).encode())
    with pytest.raises(TokenVerificationFailed, match="signature does not match"):
        verify(f"{header}.{forged_payload}.{signature}", jwks)


def test_a_token_signed_by_another_key_under_the_same_kid_is_rejected(other_key, jwks):
    with pytest.raises(TokenVerificationFailed, match="signature does not match"):
        verify(mint(other_key), jwks)


def test_an_unknown_crit_header_is_rejected(key, jwks):
    token = mint(key, headers={"crit": ["https://example.com/must-understand"]})
    with pytest.raises(TokenVerificationFailed, match="critical"):
        verify(token, jwks)


def test_a_header_without_kid_is_rejected(key, jwks):
    token = jwt.encode(claims(), key, algorithm="RS256")
    with pytest.raises(TokenVerificationFailed, match="no kid"):
        verify(token, jwks)


def test_garbage_is_rejected_as_not_a_jwt(jwks):
    with pytest.raises(TokenVerificationFailed, match="not a well-formed JWT"):
        verify("this is not a token", jwks)


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_an_access_token_marked_at_jwt_is_rejected_as_not_an_id_token(key, jwks, typ):
    # RFC 9068 access tokens are signed by the same key; one minted for audience=<client id>
    # passes every claim check, so the header's typ is what tells them apart.
    with pytest.raises(TokenVerificationFailed, match=r"access token \(typ .*RFC 9068"):
        verify(mint(key, headers={"typ": typ}, azp=TENANT.client_id), jwks)


def signed(key: rsa.RSAPrivateKey, header: dict[str, Any], **overrides: Any) -> str:
    """A token with exactly this header and claims, RS256-signed (PyJWT drops an empty or None
    typ and refuses to mint a non-string iss)."""
    body = json.dumps(claims(**overrides))
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(body.encode())}"
    rs256 = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    return f"{signing_input}.{b64(rs256.sign(signing_input.encode(), key))}"


@pytest.mark.parametrize("typ", ["logout+jwt", "dpop+jwt", "", 1, None, ["JWT"]])
def test_a_typ_naming_another_kind_of_token_is_rejected(key, jwks, typ):
    with pytest.raises(TokenVerificationFailed, match="not an ID token"):
        verify(signed(key, {"alg": "RS256", "kid": KID, "typ": typ}), jwks)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", "absent"])
def test_an_id_token_typed_jwt_or_untyped_verifies(key, jwks, typ):
    header = (
        {"alg": "RS256", "kid": KID}
        if typ == "absent"
        else {"alg": "RS256", "kid": KID, "typ": typ}
    )
    assert verify(signed(key, header), jwks)["sub"] == "auth0|ada"


# -- issuer, audience, subject, nonce ----------------------------------------------------


def test_a_wrong_issuer_is_rejected_naming_the_expected_and_the_received_issuer(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="wrong iss") as caught:
        verify(mint(key, iss="https://evil.example.com/"), jwks)
    assert f"expected {TENANT.issuer!r}, got 'https://evil.example.com/'" in str(caught.value)
    assert "trailing slash" not in str(caught.value)


def test_the_issuer_must_match_exactly_and_a_missing_trailing_slash_is_named(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="wrong iss") as caught:
        verify(mint(key, iss=TENANT.issuer.rstrip("/")), jwks)
    assert f"got {TENANT.issuer.rstrip('/')!r}" in str(caught.value)
    assert "without its trailing slash" in str(caught.value)


@pytest.mark.parametrize("iss", ["https://" + "x" * 5000 + "/", 12345, ["a"], None])
def test_a_hostile_issuer_is_quoted_short_in_the_message(key, jwks, iss):
    with pytest.raises(TokenVerificationFailed) as caught:
        verify(signed(key, {"alg": "RS256", "kid": KID}, iss=iss), jwks)
    assert len(str(caught.value)) < 300


def test_a_wrong_audience_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="wrong aud"):
        verify(mint(key, aud="some-other-app"), jwks)


def test_several_audiences_without_azp_naming_this_app_are_rejected(key, jwks):
    token = mint(key, aud=[TENANT.client_id, "other-app"])
    with pytest.raises(TokenVerificationFailed, match="azp"):
        verify(token, jwks)


def test_several_audiences_with_azp_naming_this_app_verify(key, jwks):
    token = mint(key, aud=[TENANT.client_id, "other-app"], azp=TENANT.client_id)
    assert verify(token, jwks)["azp"] == TENANT.client_id


@pytest.mark.parametrize("azp", ["some-other-app", "", 7, None])
def test_an_azp_naming_another_app_is_rejected_even_with_one_audience(key, jwks, azp):
    token = mint(key, azp=azp) if azp is not None else mint(key, azp="x" * 1000)
    with pytest.raises(TokenVerificationFailed, match="issued to another application"):
        verify(token, jwks)


def test_an_azp_naming_this_app_with_one_audience_verifies(key, jwks):
    assert verify(mint(key, azp=TENANT.client_id), jwks)["azp"] == TENANT.client_id


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "iss", "aud"])
def test_a_missing_required_claim_is_rejected(key, jwks, claim):
    with pytest.raises(TokenVerificationFailed, match="required claim"):
        verify(mint(key, **{claim: None}), jwks)


def test_a_missing_sub_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="sub"):
        verify(mint(key, sub=None), jwks)


def test_a_matching_nonce_verifies(key, jwks):
    assert verify(mint(key, nonce="n-123"), jwks, nonce="n-123")["nonce"] == "n-123"


def test_a_different_nonce_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="nonce"):
        verify(mint(key, nonce="n-123"), jwks, nonce="n-456")


def test_a_missing_nonce_is_rejected_when_one_was_sent(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="nonce"):
        verify(mint(key), jwks, nonce="n-123")


@pytest.mark.parametrize("nonce", ["n-café-🔑", "ñ", "\ud800"])
def test_a_matching_non_ascii_nonce_verifies(key, jwks, nonce):
    assert verify(mint(key, nonce=nonce), jwks, nonce=nonce)["nonce"] == nonce


def test_a_different_non_ascii_nonce_is_rejected_not_a_type_error(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="does not match"):
        verify(mint(key, nonce="n-café"), jwks, nonce="n-cafe")
    with pytest.raises(TokenVerificationFailed, match="does not match"):
        verify(mint(key, nonce="n-123"), jwks, nonce="n-😀")


@pytest.mark.parametrize("claim", [123, ["n-123"], {"n": 1}, True])
def test_a_nonce_claim_that_is_not_a_string_is_rejected(key, jwks, claim):
    with pytest.raises(TokenVerificationFailed, match=r"nonce is .*not the string sent"):
        verify(mint(key, nonce=claim), jwks, nonce="123")


# -- time --------------------------------------------------------------------------------


def test_an_expired_token_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="expired"):
        verify(mint(key, iat=int(NOW) - 7200, exp=int(NOW) - 61), jwks)


def test_a_token_expired_within_the_60_s_leeway_still_verifies(key, jwks):
    verify(mint(key, iat=int(NOW) - 7200, exp=int(NOW) - 59), jwks)


def test_an_iat_in_the_future_beyond_the_leeway_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match=r"iat.*clock"):
        verify(mint(key, iat=int(NOW) + 61), jwks)


def test_an_iat_in_the_future_within_the_leeway_verifies(key, jwks):
    verify(mint(key, iat=int(NOW) + 59), jwks)


def test_an_nbf_in_the_future_beyond_the_leeway_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="nbf"):
        verify(mint(key, nbf=int(NOW) + 61), jwks)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_time_claim_too_large_for_a_float_is_rejected_not_an_overflow_error(key, jwks, claim):
    with pytest.raises(TokenVerificationFailed, match=f"{claim} claim is not a finite number"):
        verify(mint(key, **{claim: 10**400}), jwks)


@pytest.mark.parametrize("ahead", [MAX_LIFETIME + 1, 3000 * 365 * 86400, 10**20])
def test_an_exp_beyond_the_horizon_is_rejected(key, jwks, ahead):
    with pytest.raises(TokenVerificationFailed, match="366 days after now"):
        verify(mint(key, exp=int(NOW + ahead)), jwks)


def test_an_exp_thirty_days_ahead_the_longest_auth0_allows_verifies(key, jwks):
    verify(mint(key, exp=int(NOW) + 30 * 86400), jwks)


def test_a_non_numeric_exp_is_rejected(key, jwks):
    with pytest.raises(TokenVerificationFailed, match="exp"):
        verify(mint(key, exp="tomorrow"), jwks)


# -- the key set cache -------------------------------------------------------------------


def test_the_key_set_is_fetched_once_for_many_verifications(key, jwks, source):
    for _ in range(20):
        verify(mint(key), jwks)
    assert source.fetches == 1


def test_the_key_set_is_fetched_again_after_its_ttl(key, jwks, source, cache_clock):
    verify(mint(key), jwks)
    cache_clock.now += 600
    verify(mint(key), jwks)
    assert source.fetches == 2


def test_an_unknown_kid_is_rejected_after_exactly_one_refetch(key, jwks, source, cache_clock):
    verify(mint(key), jwks)
    cache_clock.now += 30
    with pytest.raises(TokenVerificationFailed, match="does not publish"):
        verify(mint(key, headers={"kid": "unknown"}), jwks)
    assert source.fetches == 2


def test_an_unknown_kid_right_after_a_fetch_does_not_fetch_again(key, jwks, source):
    verify(mint(key), jwks)
    with pytest.raises(TokenVerificationFailed, match="does not publish"):
        verify(mint(key, headers={"kid": "unknown"}), jwks)
    assert source.fetches == 1


def test_a_stream_of_unknown_kids_cannot_hammer_the_tenant(key, jwks, source, cache_clock):
    verify(mint(key), jwks)
    cache_clock.now += 30  # the cooldown since the first fetch has passed
    for n in range(50):
        with pytest.raises(TokenVerificationFailed):
            verify(mint(key, headers={"kid": f"forged-{n}"}), jwks)
    assert source.fetches == 2
    cache_clock.now += 30
    with pytest.raises(TokenVerificationFailed):
        verify(mint(key, headers={"kid": "forged-again"}), jwks)
    assert source.fetches == 3


def test_a_rotated_signing_key_is_found_by_the_refetch(key, other_key, jwks, source, cache_clock):
    verify(mint(key), jwks)
    source.keys.append(public_jwk(other_key, kid="key-2"))
    cache_clock.now += 30
    assert verify(mint(other_key, headers={"kid": "key-2"}), jwks)["sub"] == "auth0|ada"
    assert source.fetches == 2


def test_a_failed_refetch_keeps_the_keys_already_known(key, jwks, source, cache_clock):
    verify(mint(key), jwks)
    cache_clock.now += 600
    source.fail_with = NetworkError("tenant down")
    assert verify(mint(key), jwks)["sub"] == "auth0|ada"
    assert source.fetches == 2


def test_with_no_keys_at_all_a_failed_fetch_raises_the_retryable_error(key, jwks, source):
    source.fail_with = NetworkError("tenant down")
    with pytest.raises(NetworkError) as caught:
        verify(mint(key), jwks)
    assert caught.value.retryable


def test_a_tenant_that_is_down_is_asked_for_keys_at_most_once_per_cooldown(key, cache_clock):
    source = KeySource()
    source.fail_with = NetworkError("tenant down")
    jwks = JwksCache(source, clock=cache_clock, cooldown=30)
    for _ in range(20):
        with pytest.raises(NetworkError) as caught:
            verify(mint(key), jwks)
        assert caught.value.retryable  # still "try again later", not "sign in again"
        cache_clock.now += 1
    assert source.fetches == 1  # the first fetch was immediate; 20 s later, none since
    cache_clock.now += 10
    with pytest.raises(NetworkError):
        verify(mint(key), jwks)
    assert source.fetches == 2


def test_a_tenant_that_publishes_no_keys_is_asked_at_most_once_per_cooldown(key, cache_clock):
    source = KeySource()  # an empty key set
    jwks = JwksCache(source, clock=cache_clock, cooldown=30)
    for _ in range(20):
        with pytest.raises(TokenVerificationFailed):
            verify(mint(key), jwks)
    assert source.fetches == 1
    cache_clock.now += 30
    with pytest.raises(TokenVerificationFailed):
        verify(mint(key), jwks)
    assert source.fetches == 2


def test_keys_published_after_an_outage_are_used_once_the_cooldown_has_passed(key, cache_clock):
    source = KeySource()
    source.fail_with = NetworkError("tenant down")
    jwks = JwksCache(source, clock=cache_clock, cooldown=30)
    with pytest.raises(NetworkError):
        verify(mint(key), jwks)
    source.fail_with, source.keys = None, [public_jwk(key)]
    cache_clock.now += 30
    assert verify(mint(key), jwks)["sub"] == "auth0|ada"
    assert source.fetches == 2


def test_an_unknown_kid_after_a_failed_refetch_raises_that_failure(key, jwks, source, cache_clock):
    verify(mint(key), jwks)
    cache_clock.now += 30
    source.fail_with = NetworkError("tenant down")
    for _ in range(5):
        with pytest.raises(NetworkError):
            verify(mint(key, headers={"kid": "rotated"}), jwks)
    assert source.fetches == 2
    assert verify(mint(key), jwks)["sub"] == "auth0|ada"  # the known key still works


def test_a_key_set_without_usable_keys_is_a_verification_failure(key, cache_clock):
    jwks = JwksCache(KeySource(), clock=cache_clock)
    with pytest.raises(TokenVerificationFailed, match="key set is unusable"):
        verify(mint(key), jwks)


def test_a_cache_ttl_under_five_minutes_is_refused(source):
    with pytest.raises(ValueError, match="5 to 10 minutes"):
        JwksCache(source, ttl=60)


# -- inspect_token -----------------------------------------------------------------------


def test_inspect_token_shows_header_and_claims_but_never_the_signature(key):
    token = mint(key)
    view = inspect_token(token, now=NOW)
    assert view.header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert view.claims["name"] == "Ada Lovelace"
    signature = token.rsplit(".", 1)[1]
    assert signature not in str(view)
    assert signature not in repr(view)
    assert "<signature elided>" in str(view)


def test_inspect_token_says_when_the_token_expires_in_words(key):
    assert inspect_token(mint(key), now=int(NOW)).expires.startswith("expires in 10 h 0 min")
    expired = inspect_token(mint(key, exp=int(NOW) - 90), now=int(NOW)).expires
    assert expired.startswith("expired 1 min 30 s ago")


def test_inspect_token_does_not_verify_anything(other_key):
    assert inspect_token(mint(other_key, iss="https://evil.example.com/")).claims["iss"]


def test_inspect_token_refuses_an_opaque_token():
    with pytest.raises(TokenVerificationFailed, match="not a JWT"):
        inspect_token("v1.MzAwNjM0NzQ3NjE2")


# -- integration: the real tenant's ID tokens and key set --------------------------------


@pytest.fixture
def real_login(local_tenant):
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with AuthClient(tenant, clock=local_tenant.clock) as client:
        yield tenant, client, client.login("ada@example.com", "Analytical-Engine-1843")


@pytest.mark.integration
def test_real_id_token_verifies_through_the_default_key_cache(real_login, local_tenant):
    tenant, _, credentials = real_login
    claims = verify_id_token(credentials.id_token, tenant, now=local_tenant.clock())
    assert claims["email"] == "ada@example.com"
    assert claims["iss"] == f"{local_tenant.url}/"


@pytest.mark.integration
def test_real_id_token_minted_a_day_later_verifies_on_the_tenants_clock(local_tenant):
    local_tenant.advance_clock(86400)
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with AuthClient(tenant, clock=local_tenant.clock) as client:
        credentials = client.login("ada@example.com", "Analytical-Engine-1843")
        jwks = JwksCache(client.jwks, clock=local_tenant.clock)
        now = local_tenant.clock()
        assert verify_id_token(credentials.id_token, tenant, now=now, jwks=jwks)["sub"]
        with pytest.raises(TokenVerificationFailed, match="iat"):
            verify_id_token(credentials.id_token, tenant, now=now - 86400, jwks=jwks)


@pytest.mark.integration
def test_the_real_tenants_access_token_is_refused_as_an_id_token(api_tenant_url):
    # A JWT access token comes only for an API audience (without one it is opaque, as Auth0's).
    api = Tenant(api_tenant_url, "tutorial-app", audience=TEST_API)
    with AuthClient(api) as client:
        access = client.login("ada@example.com", "Analytical-Engine-1843").access_token
    assert jwt.get_unverified_header(access)["typ"] == "at+jwt"
    with pytest.raises(TokenVerificationFailed, match="This is an access token"):
        verify_id_token(access, api)


@pytest.mark.integration
def test_real_id_token_is_refused_by_another_app(real_login, local_tenant):
    _, client, credentials = real_login
    other_app = Tenant(local_tenant.url, "some-other-app")
    jwks = JwksCache(client.jwks)
    with pytest.raises(TokenVerificationFailed, match="wrong aud"):
        verify_id_token(credentials.id_token, other_app, now=local_tenant.clock(), jwks=jwks)
