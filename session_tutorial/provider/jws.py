"""A JWT's signature and compact form (RFC 7515): base64url and RS256, from ``cryptography``.

Shared by :mod:`.tokens` (the tenant) and :mod:`.signing_helper` (its helper processes), which
loads nothing else of the tenant. RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3):
``cryptography``'s own ``sign`` with that padding and hash, which is what PyJWT's RS256 calls
(PKCS #1 v1.5 is deterministic, so the signature is the same bytes; tests/test_signer.py
checks a JWT against ``jwt.encode``). Not PyJWT itself: importing it loads its JWKS client
(urllib, http.client, ssl) and ``cryptography.x509``, about 80 ms of CPU in every helper.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def b64url(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def rs256(key: RSAPrivateKey, data: bytes) -> bytes:
    """The RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 3.3) of ``data``, base64url,
    the same bytes as PyJWT's RS256 algorithm makes for ``jwt.encode``."""
    return b64url(key.sign(data, _PKCS1V15, _SHA256))


def compact(signing_input: bytes, signature: bytes) -> str:
    """The compact JWT from its signing input and its base64url signature."""
    return (signing_input + b"." + signature).decode("ascii")
