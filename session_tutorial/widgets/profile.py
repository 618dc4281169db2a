"""A small card greeting the signed-in user: name, email, verified badge, ``sub``."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import ipywidgets as widgets

_CARD = (
    "<div style='display:flex;gap:.8em;align-items:center;padding:.6em .8em;max-width:30em;"
    "border:1px solid #ccd;border-radius:.5em'>{avatar}<div>"
    "<div style='font-size:1.15em;font-weight:600'>{name}</div>"
    "<div>{email} {badge}</div>"
    "<div style='color:#667;font-size:.85em'><code>sub: {sub}</code></div>"
    "</div></div>"
)

_SIGNED_OUT = (
    "<div style='padding:.6em .8em;max-width:30em;border:1px dashed #ccd;border-radius:.5em'>"
    "<div style='font-size:1.15em;font-weight:600'>Signed out</div>"
    "<div>Nobody is signed in, so there is no profile to show. Sign in (notebook 01, or "
    "<code>tutorial.ensure_signed_in()</code>), then run this cell again.</div></div>"
)


class ProfileCard(widgets.HTML):
    """The profile from ``/userinfo`` (or ``manager.user``) as a card.

    >>> ProfileCard(manager.user)  # doctest: +SKIP
    ProfileCard(Ada Lovelace, ada@example.com, verified)

    Shows the user's initials, not their ``picture``: an ``<img>`` would make the browser fetch
    it from a third party. Pass ``show_picture=True`` to show it anyway. ``ProfileCard(None)``
    (what ``restore()`` returns when nobody is signed in) shows a signed-out card:

    >>> ProfileCard(None)
    ProfileCard(signed out)
    """

    def __init__(self, profile: Mapping[str, Any] | None, *, show_picture: bool = False) -> None:
        self.signed_in = profile is not None
        profile = profile or {}
        self.profile = dict(profile)
        self.name = str(profile.get("name") or profile.get("nickname") or "Unknown user")
        self.email = str(profile.get("email") or "")
        self.verified = profile.get("email_verified") is True
        super().__init__(self._render(show_picture))
        self.add_class("st-profile-card")  # a stable CSS class (tests/test_browser.py)

    def __repr__(self) -> str:
        if not self.signed_in:
            return "ProfileCard(signed out)"
        badge = "verified" if self.verified else "unverified"
        return f"ProfileCard({', '.join(part for part in (self.name, self.email, badge) if part)})"

    def _render(self, show_picture: bool) -> str:
        if not self.signed_in:
            return _SIGNED_OUT
        picture = self.profile.get("picture")
        if show_picture and isinstance(picture, str) and picture.startswith("https://"):
            avatar = (
                f"<img src='{escape(picture)}' alt='' referrerpolicy='no-referrer' "
                "style='width:3em;height:3em;border-radius:50%'>"
            )
        else:
            avatar = (
                "<div style='width:3em;height:3em;border-radius:50%;background:#4a63b5;"
                "color:white;display:flex;align-items:center;justify-content:center;"
                f"font-weight:600'>{escape(_initials(self.name))}</div>"
            )
        if self.verified:
            badge = (
                "<span style='color:#174d26;background:#e6f4ea;padding:0 .4em'>✔ verified</span>"
            )
        else:
            badge = (
                "<span style='color:#7a1c12;background:#fdecea;padding:0 .4em'>not verified</span>"
            )
        return _CARD.format(
            avatar=avatar,
            name=escape(self.name),
            email=escape(self.email),
            badge=badge,
            sub=escape(str(self.profile.get("sub", "?"))),
        )


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.split()[:2]).upper() or "?"
