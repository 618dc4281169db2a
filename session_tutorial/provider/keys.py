"""The tenant's RS256 signing key: made once, kept in the data dir (mode 0600).

Loading skips cryptography's RSA key validation (``unsafe_skip_rsa_key_validation``), which
cost about 50 ms of CPU on every tenant start and in every signing helper. That validation is
for keys from an untrusted source; this one is the tenant's own, made by it, in a folder and
file that :func:`.keyfiles.secure_data_dir` has checked are the user's and private (a planted
key is refused before it is read). What the tenant does check, in 2 ms, is that the key's
parts belong together and that it signs what its public half verifies: a damaged file that
still parses is refused, never served.

PyJWT (its JWK form of the key) and the data dir's file helpers are imported where they are
used: a signing helper (:mod:`.signing_helper`) needs only :func:`load_own_pem`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .jws import b64url


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key with its key id (the RFC 7638 thumbprint of its public part)."""

    private_key: rsa.RSAPrivateKey
    kid: str

    def jwks(self) -> dict[str, Any]:
        """The public key set, as served at ``/.well-known/jwks.json``."""
        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def _thumbprint(key: rsa.RSAPrivateKey) -> str:
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
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
            return SigningKey(key, _thumbprint(key))
    loaded = load_own_pem(path.read_bytes())
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    if not signs_what_it_verifies(loaded):
        raise ValueError(
            f"{path} holds an RSA key whose parts do not belong together (the file is "
            "damaged): remove it and start the tenant again (it makes a new key; tokens "
            "signed by the old one stop verifying)"
        )
    return SigningKey(loaded, _thumbprint(loaded))


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
    from jwt.algorithms import RSAAlgorithm

    message = b"session-tutorial signing key check"
    algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
    return bool(algorithm.verify(message, key.public_key(), algorithm.sign(message, key)))
