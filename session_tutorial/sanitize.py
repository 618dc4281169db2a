"""Foreign text made safe to show: what a server or a library said, before it enters a message.

A message may quote an error answer, an exception from httpx, or a claim from a forged token.
Any of them can carry a token (a server that echoes what it got, h11 quoting the header it
refused), a stack trace, control characters or megabytes. :func:`excerpt` keeps a short,
printable, single-line piece, with every token in it cut down to what ``redact`` shows.

>>> excerpt("<html><title>502 Bad Gateway</title></html>")
'502 Bad Gateway'
>>> excerpt("Illegal header value b'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl'")
"Illegal header value b'Bearer eyJhbG…(52 chars)'"
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from session_tutorial.credentials import redact

__all__ = ["excerpt", "scrub"]

LIMIT = 200  # characters of foreign text in one message

# A run of the characters tokens are made of (RFC 6750's b64token, JWT dots), long enough to
# be a secret. It is taken for one when 20 letters and digits in a row, mixed, are in it: a
# JWT or a hex digest is, while words, paths and host names (even an Auth0 dev tenant's
# 16-character label) stay readable.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9._~+/=-]{32,}")
_RANDOM = re.compile(r"[A-Za-z0-9]{20,}")
_TAG = re.compile(r"<[^>]{0,2000}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
_STACK_TRACE = re.compile(
    r'Traceback \(most recent call last\)|File "[^"\n]+", line \d+|^\s*at [\w$.<>]+\(',
    re.MULTILINE,
)
#: Pieces of a secret shorter than this are left alone: they reveal little, and would match
#: ordinary words.
_MIN_PIECE = 8
#: Secrets shorter than this are not looked for: no tenant issues or accepts one, and taking
#: every "a" out of a message would only garble it.
_MIN_SECRET = 4


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each of ``secrets``, and anything that looks like a token, redacted.

    A secret is also found when quoted with escapes (``\\n``, ``\\u00e9``) or split by a
    character a token never has: each long piece of it is redacted on its own. Known secrets
    become ``…(N chars)``; other token-like runs keep their first characters, as ``redact``.
    """
    known = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    return _TOKEN_RUN.sub(_redact_run, _without(text, known))


def excerpt(text: str, secrets: Iterable[str | None] = (), limit: int = LIMIT) -> str:
    """A short, single-line, printable piece of ``text`` with no token and no stack trace."""
    if _STACK_TRACE.search(text):
        return "(a stack trace, not shown)"
    known = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)
    text = _TAG.sub(" ", _without(text, known))
    text = " ".join(_CONTROL.sub(" ", text).split())
    # Again: taking out control characters and spaces may have joined a secret's pieces.
    text = scrub(text, known)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _without(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        for form in _forms(secret):
            text = text.replace(form, f"…({len(secret)} chars)")
    return text


def _forms(secret: str) -> list[str]:
    """The ways ``secret`` can appear in a message: as it is, as Python quotes it in a str or
    bytes repr, as JSON quotes it, and each long piece between characters that need quoting."""
    quoted = repr(secret)[1:-1]
    as_bytes = repr(secret.encode("utf-8", "backslashreplace"))[2:-1]
    as_json = json.dumps(secret)[1:-1]
    pieces = re.split(r"[^\x21-\x7e]|\\", secret)
    forms = [secret, quoted, as_bytes, as_json, *(p for p in pieces if len(p) >= _MIN_PIECE)]
    return sorted({f for f in forms if f}, key=len, reverse=True)


def _redact_run(match: re.Match[str]) -> str:
    run = match.group()
    mixed = any(
        re.search(r"[A-Za-z]", piece) and re.search(r"[0-9]", piece)
        for piece in _RANDOM.findall(run)
    )
    return redact(run) if mixed else run
