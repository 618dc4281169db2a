"""A JWT's signature and compact form (RFC 7515), from PyJWT's base64url and RS256 algorithm.

Shared by :mod:`.tokens` (the tenant) and :mod:`.signing_helper` (its helper processes), which
loads nothing else of the tenant.
"""

from __future__ import annotations

from typing import Any

import jwt

b64url = jwt.utils.base64url_encode  # base64url without padding (RFC 7515 2), PyJWT's own
_RS256 = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)


def rs256(key: Any, data: bytes) -> bytes:
    """The RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 3.3) of ``data``, base64url,
    made by PyJWT's RS256 algorithm as ``jwt.encode`` would."""
    return b64url(_RS256.sign(data, key))


def compact(signing_input: bytes, signature: bytes) -> str:
    """The compact JWT from its signing input and its base64url signature."""
    return (signing_input + b"." + signature).decode("ascii")
