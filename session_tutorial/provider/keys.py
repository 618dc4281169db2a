"""The tenant's RS256 signing key: made once, kept in the data dir (mode 0600).

Loading skips cryptography's RSA key validation (``unsafe_skip_rsa_key_validation``), which
cost about 50 ms of CPU on every tenant start and in every signing helper. That validation is
for keys from an untrusted source; this one is the tenant's own, made by it, in a folder and
file that :func:`.keyfiles.secure_data_dir` has checked are the user's and private (a planted
key is refused before it is read). What the tenant does check, in 2 ms, is that the key's
parts belong together and that it signs what its public half verifies: a damaged file that
still parses is refused, never served.

The key's public JWK (RFC 7517/7518 6.3.1: ``n`` and ``e`` base64url, as PyJWT's ``to_jwk``
writes it; a test compares them) is made here from the key's numbers, not by PyJWT, whose
import loads ``cryptography.x509`` and a JWKS client: a tenant starts without it, and loads
it only to verify an access token. The data dir's file helpers are imported where they are
used: a signing helper (:mod:`.signing_helper`) needs only :func:`load_own_pem`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .jws import b64url


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key with its key id (the RFC 7638 thumbprint of its public part)."""

    private_key: rsa.RSAPrivateKey
    kid: str

    def jwks(self) -> dict[str, Any]:
        """The public key set, as served at ``/.well-known/jwks.json``."""
        jwk = public_jwk(self.private_key.public_key())
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def _uint(value: int) -> str:
    """A JWK's unsigned integer: base64url of its shortest big-endian bytes (RFC 7518 2)."""
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")).decode()


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The public key as a JWK (RFC 7518 6.3.1), with the members PyJWT's ``to_jwk`` gives it."""
    numbers = key.public_numbers()
    return {"kty": "RSA", "key_ops": ["verify"], "n": _uint(numbers.n), "e": _uint(numbers.e)}


def thumbprint(key: rsa.RSAPublicKey) -> str:
    """The RFC 7638 thumbprint: SHA-256 of the required members, sorted, without whitespace."""
    jwk = public_jwk(key)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest()).decode()


def load_or_create(path: Path) -> SigningKey:
    """Read the key at ``path``, or make a 2048-bit key there readable by its owner only.

    A new key is written atomically (:mod:`.keyfiles`): no reader ever sees half of it.
    """
    from . import keyfiles

    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if keyfiles.write_new(path, pem):
            return SigningKey(key, thumbprint(key.public_key()))
    loaded = load_own_pem(path.read_bytes())
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    if not signs_what_it_verifies(loaded):
        raise ValueError(
            f"{path} holds an RSA key whose parts do not belong together (the file is "
            "damaged): remove it and start the tenant again (it makes a new key; tokens "
            "signed by the old one stop verifying)"
        )
    return SigningKey(loaded, thumbprint(loaded.public_key()))


def load_own_pem(pem: bytes) -> Any:
    """A private key this tenant made and kept itself (see the module's docstring)."""
    return serialization.load_pem_private_key(
        pem, password=None, unsafe_skip_rsa_key_validation=True
    )


def signs_what_it_verifies(key: rsa.RSAPrivateKey) -> bool:
    """Whether the key's parts belong together and an RS256 signature by it verifies with its
    public key. The arithmetic (microseconds) catches a damaged CRT part that OpenSSL would
    silently work around, signing four times slower; the signature, a damaged exponent."""
    n = key.private_numbers()
    p, q, d = n.p, n.q, n.d
    if not (
        p * q == n.public_numbers.n
        and n.dmp1 == d % (p - 1)
        and n.dmq1 == d % (q - 1)
        and (n.iqmp * q) % p == 1
    ):
        return False
    message = b"session-tutorial signing key check"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    try:
        key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
