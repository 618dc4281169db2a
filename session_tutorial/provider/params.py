"""Reading request parameters the way an OAuth server must (RFC 6749 3.1, 3.2).

Bodies are form-encoded or JSON, at most 64 KiB; each parameter appears at most once; values
are strings of real text (no NUL, no lone UTF-16 surrogate). Anything else is
``invalid_request``, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import parse_qsl

from starlette.requests import Request

from .errors import InvalidRequest, PayloadTooLarge, RequestTimeout

MAX_BODY = 64 * 1024
FORM = "application/x-www-form-urlencoded"


def source(request: Request) -> str:
    """Where a request comes from (the peer's address): what brute-force protection counts."""
    return request.client.host if request.client else ""


class Params(dict[str, str]):
    """Request parameters; ``require`` names what is missing in Auth0's words."""

    def require(self, *names: str) -> list[str]:
        missing = [n for n in names if not self.get(n)]
        if missing:
            raise InvalidRequest(f"Missing required parameter: {missing[0]}")
        return [self[n] for n in names]


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise PayloadTooLarge()
    timeout = getattr(request.app.state, "request_timeout", 10.0)
    try:
        # A slow body (a client that sends a byte now and then) is dropped: 408.
        if sys.version_info >= (3, 11):
            # A deadline on this task: no second task per request, as wait_for makes.
            async with asyncio.timeout(timeout):
                return await _read_all(request)
        return await asyncio.wait_for(_read_all(request), timeout)
    except asyncio.TimeoutError:
        raise RequestTimeout() from None


async def _read_all(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge()
    return body


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Pairs(list[tuple[str, object]]):
    """A JSON object's members in order, duplicates kept, so they can be refused."""


def _pairs_to_params(pairs: list[tuple[str, object]]) -> Params:
    params = Params()
    for name, value in pairs:
        if name in params:
            raise InvalidRequest(f"Parameter given more than once: {name}")
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"Parameter {name} must be a string")
        if "\x00" in value:
            raise InvalidRequest(f"Parameter {name} contains a NUL character")
        if not _encodable(name) or not _encodable(value):
            # A lone UTF-16 surrogate ("\ud800" in JSON) is no text: nothing could store it.
            raise InvalidRequest("A parameter contains an invalid character (a lone surrogate).")
        params[name] = value
    return params


async def read_params(request: Request) -> Params:
    """The body's parameters, from a form-encoded or a JSON body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request)
    if ctype == FORM:
        try:
            text = body.decode("utf-8")
            # errors="strict": a percent-escape of invalid UTF-8 is refused, not replaced by U+FFFD.
            pairs = parse_qsl(
                text, keep_blank_values=True, strict_parsing=bool(text), errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequest("The form body is malformed.") from None
        return _pairs_to_params(list(pairs))
    if ctype == "application/json":
        try:
            data = json.loads(body, object_pairs_hook=_Pairs)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidRequest("The JSON body is malformed.") from None
        if not isinstance(data, _Pairs):
            raise InvalidRequest("The JSON body must be an object.")
        return _pairs_to_params(data)
    raise InvalidRequest(f"Content-Type must be {FORM} or application/json.")
