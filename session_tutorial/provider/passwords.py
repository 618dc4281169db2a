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

# The demo users' passwords are published (config.DEMO_USERS, the README), so their hashes are
# made once, here, not again in every fresh data dir: that was two Argon2id hashes (about 60 ms
# of CPU) on every tenant start. Each was made by hash_password (these parameters, a random
# salt); tests/test_provider_unit.py checks that each verifies its password and needs no rehash.
PUBLISHED_HASHES = {
    "Analytical-Engine-1843": "$argon2id$v=19$m=19456,t=2,p=1$qocbQ8ely3EoQJRfoaap4Q$"
    "Jz/M2eAJ7PL35RGY7Tq5QLtrKZpDfaUU18k7Z6JXUn0",
    "Turing-Machine-1936": "$argon2id$v=19$m=19456,t=2,p=1$hk3rFQ4M49QPRVCM1MXQaA$"
    "X4sIIaQnswdX9BfEEk3umjn/M52Rn4ZR2UFHj7FnJck",
}


def hash_password(password: str) -> str:
    """Return a salted Argon2id hash of ``password`` for storage."""
    return _HASHER.hash(password)


def demo_password_hash(password: str) -> str:
    """The hash a demo user's published password is stored with: made once (above), else now."""
    return PUBLISHED_HASHES.get(password) or hash_password(password)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than this module's."""
    return _HASHER.check_needs_rehash(stored)


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
