"""Bounded retries of a refresh: which failures are safe to retry, and for how long.

Auth0.swift's ``CredentialsManager(maxRetries:)`` is the model: off unless asked for
(``max_retries=0``), exponential backoff, a total time limit. What it adds is the one question
a refresh under rotation raises and a plain HTTP retry ignores: *may the tenant have rotated
the refresh token already?*

Three kinds of failure:

- **The request provably did not reach the tenant** (the connection was refused or never made:
  ``NetworkError.may_have_reached`` is False). Nothing rotated; retrying is safe at any time.
- **The tenant answered without acting on it**: a 500 or 503 from the tenant itself (its
  rotation is a transaction that failed), or a 429 with ``Retry-After`` (it refused to look at
  the request). Safe to retry; a 429 waits at least as long as the tenant asked. A 429 without
  ``Retry-After`` is not retried: nobody knows how long to wait.
- **The answer was lost**: a read timeout, a connection reset after sending, a 502 or 504 from
  a gateway in front of the tenant. The tenant may have rotated the token and issued a
  successor that never arrived. The only refresh token we hold is then *retired*, and sending
  it again is, to the tenant, exactly what a thief with a copied token does.

Why a lost answer may be retried only inside the overlap period. A tenant with rotation keeps
a retired token usable for a short *overlap* (Auth0's "reuse interval", the local tenant's
``--refresh-leeway``), counted from the moment it rotated. Inside it, a replay is taken as the
same client retrying and answered with the same successor (the family does not fork: there is
still one live token). Outside it, the replay is reuse: the tenant revokes the whole family
and logs a failed exchange (``ferrt`` in Auth0's logs), so the retry itself signs the user out
and raises a theft alarm. The tenant rotated no earlier than we *sent* the first request whose
answer was lost, so a retry that reaches the tenant less than ``overlap`` seconds after that
send is inside the window whenever the rotation happened. The code therefore anchors the
window at that send and sends a retry only if it will arrive (allowing ``transit`` seconds on
the way) before the anchor plus ``overlap``; with ``overlap=0`` (the default: unknown, or a
strict tenant) a lost answer is never retried automatically. The error is raised instead, the
credentials are kept, and the app decides when to try again.

The waits go through the policy's ``sleep`` and are measured by its ``clock``, so tests and
notebooks run them without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from session_tutorial.errors import NetworkError, RateLimited, ServerError, SessionError

T = TypeVar("T")
Kind = Literal["not sent", "refused", "maybe acted"]

#: The tenant itself failed and rolled back (500), or is not taking requests (503).
_TENANT_REFUSED = frozenset({500, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How a session manager retries a failed refresh; ``RetryPolicy()`` retries nothing.

    >>> policy = RetryPolicy(max_retries=3)
    >>> [policy.backoff(attempt) for attempt in range(4)]
    [0.5, 1.0, 2.0, 4.0]

    Raises ``ValueError`` for a negative count or time, or a total limit too long for the
    renewal lock (60 s), which the retries hold.
    """

    #: Retries after the first attempt (Auth0.swift's ``maxRetries``); 0 turns retrying off.
    max_retries: int = 0
    #: The first wait, in seconds; each retry waits twice as long as the one before.
    base_delay: float = 0.5
    #: No single wait is longer than this (but a 429's ``Retry-After`` is honoured).
    max_delay: float = 8.0
    #: All attempts and waits together end within this many seconds.
    total: float = 20.0
    #: The tenant's overlap (reuse interval) in seconds; 0 never retries a lost answer.
    overlap: float = 0.0
    #: How long a request may take to reach the tenant (kept out of the overlap).
    transit: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        numbers = (self.base_delay, self.max_delay, self.total, self.overlap, self.transit)
        if self.max_retries < 0 or min(numbers) < 0:
            raise ValueError("RetryPolicy counts and times must not be negative")
        if self.total >= 60:
            raise ValueError(
                f"total={self.total:g} s: retries hold the renewal lock, which others wait "
                "for at most 60 s; use a total under 60 s"
            )

    def backoff(self, attempt: int) -> float:
        """The wait before retry number ``attempt + 1``: exponential, capped at ``max_delay``."""
        return float(min(self.max_delay, self.base_delay * 2**attempt))


def kind_of(error: SessionError) -> Kind | None:
    """Which kind of failure ``error`` is for a refresh (see the module), or None: not retried.

    >>> kind_of(ServerError("down", status_code=503)), kind_of(ServerError("?", status_code=504))
    ('refused', 'maybe acted')
    """
    if isinstance(error, NetworkError):
        return "maybe acted" if error.may_have_reached else "not sent"
    if isinstance(error, RateLimited) and error.status_code == 429:
        return "refused" if error.retry_after is not None else None
    if isinstance(error, ServerError) and error.status_code is not None:
        return "refused" if error.status_code in _TENANT_REFUSED else "maybe acted"
    return None


def with_retries(attempt: Callable[[], T], policy: RetryPolicy) -> T:
    """``attempt()``, retried under ``policy`` on failures that are safe to retry.

    Raises the last failure once retrying is unsafe, exhausted, or out of time.
    """
    started = policy.clock()
    anchor: float | None = None  # when a request whose answer was lost was sent
    retries = 0
    while True:
        sent = policy.clock()
        try:
            return attempt()
        except SessionError as exc:
            kind = kind_of(exc)
            if kind is None or retries >= policy.max_retries:
                raise
            if kind == "maybe acted" and anchor is None:
                anchor = sent
            wait = policy.backoff(retries)
            if isinstance(exc, RateLimited) and exc.retry_after is not None:
                wait = max(wait, exc.retry_after)
            resend = policy.clock() + wait
            if resend - started > policy.total:
                raise
            if anchor is not None and resend + policy.transit - anchor > policy.overlap:
                raise  # the replay could land after the overlap: reuse, the family revoked
            policy.sleep(wait)
            retries += 1
