"""Which ``redirect_uri`` the tenant sends a browser back to (RFC 6749 3.1.2, RFC 8252 7.3).

Two kinds are allowed, and nothing else:

- an entry of the application's list ("Allowed Callback URLs" in Auth0), compared as an exact
  string: no prefix, no wildcard, no normalisation;
- a loopback callback, ``http://127.0.0.1:{any port}/...`` or ``http://[::1]:{any port}/...``,
  because a program on a computer picks its port when it runs (RFC 8252 7.3). ``localhost`` is
  not one of them: a name can resolve elsewhere (RFC 8252 8.3).

Loopback callbacks are *non-verifiable*: any program on the machine could listen there, so
single sign-on asks the user before it answers one (Auth0's "measures against app
impersonation").
"""

from __future__ import annotations

import re
from enum import Enum
from urllib.parse import urlsplit

# The whole authority, spelled exactly: no credentials, no trailing dot, no other spelling of
# the address (0x7f.1, 2130706433, 127.1) that one URL parser reads as loopback and another not.
_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|\[::1\])(:(?P<port>[0-9]{1,5}))?(?P<rest>[/?].*)?")


class Callback(Enum):
    """What kind of callback a redirect URI is."""

    REGISTERED = "registered"  # on the application's list: the tenant knows where it goes
    LOOPBACK = "loopback"  # a port on this machine: whoever listens there receives the code


def classify(redirect_uri: str, registered: tuple[str, ...]) -> Callback | None:
    """The kind of an allowed ``redirect_uri``; None if the tenant must not redirect there.

    >>> classify("http://127.0.0.1:53682/callback", ())
    <Callback.LOOPBACK: 'loopback'>
    >>> classify("http://127.0.0.1.evil.example/callback", ()) is None
    True
    """
    if not redirect_uri or not redirect_uri.isascii() or not redirect_uri.isprintable():
        return None
    if any(c in redirect_uri for c in " \\#"):  # a fragment is forbidden (RFC 6749 3.1.2)
        return None
    if redirect_uri in registered:
        return Callback.REGISTERED
    match = _LOOPBACK.fullmatch(redirect_uri)
    if match is None:
        return None
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        return None
    try:
        parts = urlsplit(redirect_uri)
    except ValueError:
        return None
    # Belt and braces: the parser must agree with the pattern about where the URL goes.
    if parts.hostname not in ("127.0.0.1", "::1") or parts.username is not None:
        return None
    return Callback.LOOPBACK
