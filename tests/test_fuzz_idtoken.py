"""Forged ID tokens, generated: every way the checks claim to reject, mutated at random.

``test_idtoken.py`` has one hand-written test per rule. Here hypothesis builds tokens that are
*correctly signed* by the tenant's key but break one rule (header alg/kid/crit/typ, claims
iss/aud/azp/exp/iat/nbf/sub, odd JSON types, NaN and infinities, numbers too large for a
float, an exp beyond the 366-day horizon), and tokens whose bytes were altered after signing.
Each must raise ``TokenVerificationFailed`` (never another exception), and the untouched token
must verify. Deterministic: ``derandomize=True``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_tutorial.errors import TokenVerificationFailed
from session_tutorial.idtoken import LEEWAY, MAX_LIFETIME, JwksCache, verify_id_token
from session_tutorial.tenant import Tenant
from tests.provider_helpers import signing_key

TENANT = Tenant("http://127.0.0.1:8941", "tutorial-app")
NOW = 1_800_000_000.0
KID = "key-1"
KEY = signing_key()  # this test process's one key: the tenant's, as far as these tokens go
RS256 = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

GOOD_HEADER: dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": KID}
GOOD_CLAIMS: dict[str, Any] = {
    "iss": TENANT.issuer,
    "sub": "auth0|ada",
    "aud": TENANT.client_id,
    "iat": int(NOW),
    "exp": int(NOW) + 36000,
    "name": "Ada Lovelace",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compose(header: dict[str, Any], claims: dict[str, Any], signature: bytes | None = None) -> str:
    """A JWT with exactly this header and these claims, RS256-signed by the tenant's key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if signature is None:
        signature = _rs256(signing_input.encode())
    return f"{signing_input}.{b64(signature)}"


@functools.cache
def _rs256(signing_input: bytes) -> bytes:
    """The RS256 signature of ``signing_input``. RSASSA-PKCS1-v1_5 is deterministic, so a signing
    input that comes again (the untouched token, once per example of the mutation tests) gets
    the very same bytes from here instead of another 2 ms of RSA."""
    return RS256.sign(signing_input, KEY)


def jwks() -> JwksCache:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    return JwksCache(lambda: {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]})


KEYS = jwks()


def rejected(token: str) -> TokenVerificationFailed:
    with pytest.raises(TokenVerificationFailed) as caught:
        verify_id_token(token, TENANT, now=NOW, jwks=KEYS)
    assert str(caught.value), "a message a learner can act on"
    return caught.value


def test_the_untouched_token_verifies() -> None:
    assert verify_id_token(compose(GOOD_HEADER, GOOD_CLAIMS), TENANT, now=NOW, jwks=KEYS)


# -- values that are not what a claim should hold ------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    # too large for a float: math.isfinite() raises OverflowError on them
    st.integers(min_value=2**1024, max_value=10**400),
    st.integers(min_value=-(10**400), max_value=-(2**1024)),
)


def finite(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


# -- header ------------------------------------------------------------------------------


@FUZZ
@given(
    alg=st.one_of(
        json_values,
        st.sampled_from(
            ["none", "None", "HS256", "RS384", "PS256", "ES256", "rs256", "RS256 ", ""]
        ),
    )
)
def test_any_alg_but_rs256_is_rejected_even_with_a_valid_rs256_signature(alg: Any) -> None:
    if alg == "RS256":
        return
    rejected(compose({**GOOD_HEADER, "alg": alg}, GOOD_CLAIMS))


@FUZZ
@given(kid=st.one_of(json_values, st.just(None)))
def test_a_missing_or_unknown_kid_is_rejected(kid: Any) -> None:
    if kid == KID:
        return
    header = {**GOOD_HEADER, "kid": kid} if kid is not None else {"alg": "RS256", "typ": "JWT"}
    rejected(compose(header, GOOD_CLAIMS))


@FUZZ
@given(typ=json_values | st.sampled_from(["at+jwt", "application/at+jwt", "At+JWT", "JWT "]))
def test_any_typ_but_jwt_is_rejected(typ: Any) -> None:
    if isinstance(typ, str) and typ.lower() in ("jwt", "application/jwt"):
        return
    rejected(compose({**GOOD_HEADER, "typ": typ}, GOOD_CLAIMS))


@FUZZ
@given(azp=json_values)
def test_an_azp_that_is_not_this_app_is_rejected(azp: Any) -> None:
    if azp == TENANT.client_id:
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, "azp": azp}))


@FUZZ
@given(crit=json_values)
def test_any_crit_header_is_rejected(crit: Any) -> None:
    rejected(compose({**GOOD_HEADER, "crit": crit}, GOOD_CLAIMS))


@FUZZ
@given(header=st.one_of(json_values, st.lists(json_values)))
def test_a_header_that_is_not_a_json_object_is_rejected(header: Any) -> None:
    if isinstance(header, dict):
        return
    rejected(compose(header, GOOD_CLAIMS))  # type: ignore[arg-type]


# -- claims ------------------------------------------------------------------------------


@FUZZ
@given(iss=json_values)
def test_any_other_issuer_is_rejected(iss: Any) -> None:
    if iss == TENANT.issuer:
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, "iss": iss}))


@FUZZ
@given(
    iss=st.sampled_from([TENANT.issuer.rstrip("/"), TENANT.issuer.upper(), TENANT.issuer + "/"])
    | st.builds(lambda a, b: a + TENANT.issuer + b, st.text(max_size=3), st.text(max_size=3))
)
def test_near_miss_issuers_are_rejected(iss: str) -> None:
    if iss == TENANT.issuer:
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, "iss": iss}))


@FUZZ
@given(aud=json_values)
def test_an_audience_that_is_not_this_app_is_rejected(aud: Any) -> None:
    if aud == TENANT.client_id or (isinstance(aud, list) and aud == [TENANT.client_id]):
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, "aud": aud}))


@FUZZ
@given(others=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3), azp=json_values)
def test_several_audiences_need_azp_naming_this_app(others: list[str], azp: Any) -> None:
    if azp == TENANT.client_id or all(o == TENANT.client_id for o in others):
        return
    claims = {**GOOD_CLAIMS, "aud": [TENANT.client_id, *others], "azp": azp}
    rejected(compose(GOOD_HEADER, claims))


@FUZZ
@given(exp=numbers | json_values)
def test_an_exp_that_is_past_or_not_a_finite_number_is_rejected(exp: Any) -> None:
    good = finite(exp) and NOW - LEEWAY < exp <= NOW + MAX_LIFETIME
    if good:
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, "exp": exp}))


@FUZZ
@given(name=st.sampled_from(["iat", "nbf"]), value=numbers | json_values)
def test_an_iat_or_nbf_in_the_future_or_not_a_finite_number_is_rejected(
    name: str, value: Any
) -> None:
    good = finite(value) and value <= NOW + LEEWAY
    if good:
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, name: value}))


@FUZZ
@given(sub=json_values)
def test_a_sub_that_is_not_a_non_empty_string_is_rejected(sub: Any) -> None:
    if isinstance(sub, str) and sub:
        return
    rejected(compose(GOOD_HEADER, {**GOOD_CLAIMS, "sub": sub}))


@FUZZ
@given(missing=st.sets(st.sampled_from(["iss", "sub", "aud", "iat", "exp"]), min_size=1))
def test_a_token_missing_required_claims_is_rejected(missing: set[str]) -> None:
    claims = {k: v for k, v in GOOD_CLAIMS.items() if k not in missing}
    rejected(compose(GOOD_HEADER, claims))


@FUZZ
@given(claims=st.one_of(json_scalars, st.lists(json_values)))
def test_claims_that_are_not_a_json_object_are_rejected(claims: Any) -> None:
    rejected(compose(GOOD_HEADER, claims))  # type: ignore[arg-type]


# -- bytes altered after signing ---------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_any_change_to_the_signature_bytes_is_rejected(data: st.DataObject) -> None:
    token = compose(GOOD_HEADER, GOOD_CLAIMS)
    signing_input, _, sig = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    how = data.draw(st.sampled_from(["flip", "truncate", "extend", "replace"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=8))
    else:
        new = data.draw(st.binary(min_size=0, max_size=300))
        if new == bytes(raw):
            return
        raw = bytearray(new)
    rejected(f"{signing_input}.{b64(bytes(raw))}")


@FUZZ
@given(data=st.data())
def test_any_change_to_the_signed_header_or_claims_is_rejected(data: st.DataObject) -> None:
    token = compose(GOOD_HEADER, GOOD_CLAIMS)
    part = data.draw(st.sampled_from([0, 1]))
    pieces = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(pieces[part] + "=" * (-len(pieces[part]) % 4)))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[i]))
    pieces[part] = b64(bytes(raw))
    rejected(".".join(pieces))


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_garbage_is_rejected_as_not_a_jwt(text: str) -> None:
    rejected(text)


@FUZZ
@given(
    claims=st.fixed_dictionaries({}, optional={"exp": numbers, "iat": numbers, "aud": json_values})
)
def test_hs256_signed_with_the_public_key_is_rejected(claims: dict[str, Any]) -> None:
    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": KID}
    signing_input = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps({**GOOD_CLAIMS, **claims}).encode())}"
    )
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    rejected(f"{signing_input}.{b64(mac)}")
