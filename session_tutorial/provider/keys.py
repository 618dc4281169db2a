"""The tenant's RS256 signing key: made once, kept in the data dir (mode 0600)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode

from . import keyfiles


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key with its key id (the RFC 7638 thumbprint of its public part)."""

    private_key: rsa.RSAPrivateKey
    kid: str

    def jwks(self) -> dict[str, Any]:
        """The public key set, as served at ``/.well-known/jwks.json``."""
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def _thumbprint(key: rsa.RSAPrivateKey) -> str:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    return base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode()


def load_or_create(path: Path) -> SigningKey:
    """Read the key at ``path``, or make a 2048-bit key there readable by its owner only.

    A new key is written atomically (:mod:`.keyfiles`): no reader ever sees half of it.
    """
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
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return SigningKey(loaded, _thumbprint(loaded))
