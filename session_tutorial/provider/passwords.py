"""Password hashing with Argon2id (RFC 9106), through argon2-cffi.

Parameters are OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane): about 16 ms a hash
here. argon2-cffi releases the GIL while hashing, so a burst of logins does not stall the
tenant's other requests. Verification compares in constant time (inside libargon2).
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    """Return a salted Argon2id hash of ``password`` for storage."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``."""
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """Checked against when the email is unknown, so a wrong email costs as long as a wrong
    password and response time does not tell which emails have accounts. Made on first use:
    a process that only reads the tenant's files (a kernel, a script) never pays for it."""
    return hash_password(secrets.token_urlsafe(16))
