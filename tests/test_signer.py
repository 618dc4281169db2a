"""The signing helper process: grants signed off the event loop, and never lost when it fails.

Real processes: the helper is ``python -m session_tutorial.provider.signing_helper``, killed for
real.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.testclient import TestClient

from session_tutorial.provider import IdentityProvider, TenantConfig, create_app
from session_tutorial.provider.keys import thumbprint
from session_tutorial.provider.signer import BURST, HELPERS, Signer
from session_tutorial.provider.tokens import TokenMinter, Unsigned, deferred_signing
from tests.provider_helpers import CLIENT, FakeClock, data_dir_with_key, login, refresh

ISSUER = "http://testserver/"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, IdentityProvider]]:
    config = TenantConfig(issuer=ISSUER, data_dir=data_dir_with_key(tmp_path / "tenant"))
    idp = IdentityProvider(config, base_clock=FakeClock())
    with TestClient(create_app(config, idp, signing_helper="on")) as client:
        yield client, idp
    idp.close()


def _claims(idp: IdentityProvider, id_token: str) -> dict[str, object]:
    return jwt.decode(
        id_token,
        idp.key.private_key.public_key(),
        algorithms=["RS256"],
        audience=CLIENT,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )


def test_the_helpers_sign_grants_that_verify_and_killed_they_cost_no_grant(served) -> None:
    """One tenant's helpers for both (each start is HELPERS Python processes): first they sign,
    then they are killed and the tenant signs itself."""
    client, idp = served
    signer: Signer = client.app.state.signer  # type: ignore[attr-defined]
    token = login(client).json()["refresh_token"]
    assert client.portal.call(signer.settled)  # type: ignore[union-attr]
    for _ in range(3):
        body = refresh(client, token).json()
        token = body["refresh_token"]
        assert _claims(idp, body["id_token"])["email"] == "ada@example.com"
        assert jwt.get_unverified_header(body["id_token"]) == {
            "alg": "RS256",
            "kid": idp.key.kid,
            "typ": "JWT",
        }
    assert signer.helper_running

    # Killed, all of them: no grant fails, the tenant signs itself.
    assert len(signer.helper_pids) == HELPERS
    for pid in signer.helper_pids:
        os.kill(pid, signal.SIGKILL)
    for _ in range(3):  # whether the loss is noticed before or during these, none fails
        r = refresh(client, token)
        assert r.status_code == 200, r.text
        token = r.json()["refresh_token"]
        assert _claims(idp, r.json()["id_token"])["sub"]
    assert not signer.helper_running


def test_auto_starts_the_helpers_only_for_a_burst_and_drops_one_that_answers_garbage(
    tmp_path: Path,
) -> None:
    """One start of the helpers for both (each is HELPERS Python processes): a burst starts
    them; then each answers garbage, is dropped, and the tenant signs itself."""
    idp = IdentityProvider(TenantConfig(issuer=ISSUER, data_dir=data_dir_with_key(tmp_path / "t")))
    now = [100.0]
    unsigned = Unsigned({"sub": "x"}, {"kid": idp.key.kid, "typ": "JWT"})

    async def run() -> tuple[bool, bool, list[bool], str]:
        signer = Signer(idp.minter, helper="auto", clock=lambda: now[0])
        for _ in range(2 * BURST):  # a learner: one JWT a second, never a burst
            await signer.sign(unsigned)
            now[0] += 1.0
        calm = not signer.helper_pids
        for _ in range(BURST):  # a room: BURST within a second
            assert (await signer.sign(unsigned)).count(".") == 2
            now[0] += 0.01
        started = await signer.settled()
        # A real helper does not send garbage on demand: its answer is fed in as if it had.
        helpers = signer._helpers
        for helper in helpers:
            helper.pipe_data_received(1, b"not <base64url>!\n")
        failed = [h.failed for h in helpers]
        jwt_ = await signer.sign(unsigned)
        await signer.close()
        return calm, started, failed, jwt_

    try:
        calm, started, failed, signed = asyncio.run(run())
        assert (calm, started) == (True, True)
        assert failed == [True] * HELPERS
        assert jwt.decode(signed, idp.key.private_key.public_key(), algorithms=["RS256"]) == {
            "sub": "x"
        }
    finally:
        idp.close()


def test_unsigned_jwts_exist_only_inside_deferred_signing_and_show_no_claims(
    tmp_path: Path,
) -> None:
    idp = IdentityProvider(TenantConfig(issuer=ISSUER, data_dir=data_dir_with_key(tmp_path / "t")))
    try:
        user = idp.users.by_email("ada@example.com")
        assert user is not None
        minter: TokenMinter = idp.minter
        assert isinstance(minter.id_token(user, 0, "sid", "openid email"), str)
        with deferred_signing():
            pending = minter.id_token(user, 0, "sid", "openid email")
        assert isinstance(pending, Unsigned)
        assert "ada@example.com" not in repr(pending)
        assert _claims(idp, minter.sign(pending))["email"] == "ada@example.com"
    finally:
        idp.close()


def test_a_jwt_is_put_together_exactly_as_pyjwt_would(tmp_path: Path) -> None:
    idp = IdentityProvider(TenantConfig(issuer=ISSUER, data_dir=data_dir_with_key(tmp_path / "t")))
    try:
        claims = {"iss": ISSUER, "sub": "auth0|1", "name": "Ada \u00e9 \u2603", "iat": 1, "exp": 2}
        unsigned = Unsigned(claims, {"kid": idp.key.kid, "typ": "JWT"})
        expected = jwt.encode(
            claims, idp.key.private_key, algorithm="RS256", headers=unsigned.headers
        )
        assert idp.minter.sign(unsigned) == expected
    finally:
        idp.close()


def test_the_key_set_is_what_pyjwt_makes_and_the_kid_the_rfc_7638_thumbprint(tmp_path) -> None:
    idp = IdentityProvider(TenantConfig(issuer=ISSUER, data_dir=data_dir_with_key(tmp_path / "t")))
    try:
        public = idp.key.private_key.public_key()
        expected = json.loads(RSAAlgorithm.to_jwk(public))
        expected.update({"kid": idp.key.kid, "use": "sig", "alg": "RS256"})
        assert json.dumps(idp.key.jwks()) == json.dumps({"keys": [expected]})  # order too
        assert idp.key.kid == thumbprint(public)
    finally:
        idp.close()
    # RFC 7638 3.1: the example key and its thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    example = rsa.RSAPublicNumbers(65537, int.from_bytes(base64.urlsafe_b64decode(n + "=="), "big"))
    assert thumbprint(example.public_key()) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
