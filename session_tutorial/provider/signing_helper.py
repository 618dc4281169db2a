"""The signing helper process of :mod:`.signer`, run as ``python -m`` this module.

It gets the key (a JSON string) on the first line of stdin, says ``ready``, then answers each
signing input (one line) with its base64url RS256 signature (one line of stdout), in order. It
loads only RS256 (:mod:`.jws`, on ``cryptography``) and the key's loader (:mod:`.keys`), not
PyJWT, the tenant's settings, the rest of the tenant or asyncio: the served tenant starts four
of these at its first burst of grants.
"""

from __future__ import annotations

import json
import sys

from .jws import rs256
from .keys import load_own_pem

READY = b"ready"


def main() -> int:
    given, out = sys.stdin.buffer, sys.stdout.buffer
    pem = json.loads(given.readline())
    key = load_own_pem(pem.encode())  # the tenant's own key, from the tenant (keys.py)
    del pem
    out.write(READY + b"\n")
    out.flush()
    for line in given:
        out.write(rs256(key, line.rstrip(b"\n")) + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
