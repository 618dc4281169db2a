"""Show what is inside a JWT: header, claims and expiry; the signature is only counted."""

from __future__ import annotations

import base64
import json
import time
from html import escape
from typing import Any

import ipywidgets as widgets

from session_tutorial.credentials import Credentials
from session_tutorial.idtoken import inspect_token

from ._html import expiry_words

# Claims holding a time, shown with the time in words next to the number.
_TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time", "updated_at")


class TokenInspector(widgets.VBox):
    """A JWT's header and claims as tables, its expiry in words, its signature elided.

    >>> TokenInspector(credentials)  # the ID token  # doctest: +SKIP
    TokenInspector(RS256 ID token, sub=auth0|…, expires in 10 h)
    >>> TokenInspector(credentials.access_token, now=manager.clock())  # doctest: +SKIP

    Nothing is verified here (see ``verify_id_token``): this only shows. The token itself is not
    kept, neither in the widget nor on the object; raises ``TokenVerificationFailed`` for a token
    that is not a JWT, and ``ValueError`` for credentials without an ID token. ``None`` (nobody
    signed in) shows that there is no token.
    """

    def __init__(
        self,
        token: str | Credentials | None,
        *,
        now: float | None = None,
        kind: str | None = None,
    ) -> None:
        self.empty = token is None
        self.header: dict[str, Any] = {}
        self.claims: dict[str, Any] = {}
        if token is None:  # nobody signed in: say so rather than fail
            self.kind = kind or "token"
            self.signature_bytes, self.expires = 0, "no token"
            self.html = widgets.HTML(
                "<div style='font-size:.9em'><b>No token to show</b>: nobody is signed in. Sign "
                "in, then run this cell again.</div>"
            )
            super().__init__([self.html])
            return
        if isinstance(token, Credentials):
            if token.id_token is None:
                raise ValueError("These credentials have no ID token: ask for the openid scope.")
            token, kind = token.id_token, kind or "ID token"
        now = time.time() if now is None else now
        view = inspect_token(token, now=now)
        self.header, self.claims = view.header, view.claims
        self.kind = kind or _guess_kind(view.claims)
        self.signature_bytes = len(_b64url(token.rsplit(".", 1)[-1]))
        exp = self.claims.get("exp")
        self.expires = (
            expiry_words(exp - now)
            if isinstance(exp, (int, float)) and not isinstance(exp, bool)
            else "never expires"
        )
        self.html = widgets.HTML(self._render(now))
        super().__init__([self.html])

    def __repr__(self) -> str:
        if self.empty:
            return "TokenInspector(no token: signed out)"
        alg, sub = self.header.get("alg", "?"), _short(self.claims.get("sub"))
        return f"TokenInspector({alg} {self.kind}, sub={sub}, {self.expires})"

    def _render(self, now: float) -> str:
        return (
            f"<div style='font-size:.9em'><b>{escape(self.kind)}</b>: {escape(self.expires)}"
            f"<h4 style='margin:.6em 0 .2em'>Header</h4>{_table(self.header, now)}"
            f"<h4 style='margin:.6em 0 .2em'>Claims</h4>{_table(self.claims, now)}"
            f"<p><code>signature: &lt;elided, {self.signature_bytes} bytes&gt;</code></p></div>"
        )


def _table(items: dict[str, Any], now: float) -> str:
    rows = []
    for name, value in items.items():
        shown = escape(value if isinstance(value, str) else json.dumps(value))
        if name in _TIME_CLAIMS and _is_number(value):
            words = expiry_words(value - now) if name == "exp" else _ago(value - now)
            shown += f" <i>({escape(words)})</i>"
        rows.append(
            f"<tr><td style='text-align:left'><code>{escape(name)}</code></td>"
            f"<td style='text-align:left'>{shown}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _ago(delta: float) -> str:
    words = expiry_words(delta)  # reuse its rounding, then drop the "expire" wording
    return words.replace("expires in", "in").replace("expired ", "")


def _guess_kind(claims: dict[str, Any]) -> str:
    if "scope" in claims:
        return "access token"
    if {"email", "name", "nonce", "sid"} & claims.keys():
        return "ID token"
    return "token"


def _short(sub: object) -> str:
    """``auth0|…``: the connection, not the id, so the repr is the same in every run."""
    if not isinstance(sub, str):
        return "?"
    return f"{sub.split('|', 1)[0]}|…" if "|" in sub else "…"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _b64url(piece: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
    except ValueError:
        return b""
