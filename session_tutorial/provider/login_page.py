"""The tenant's login pages (its Universal Login): sign in, sign up, "Continue as ...?", errors.

Plain HTML and CSS, no script. Built to be read at 200% zoom (sizes in rem, one column that
reflows) and with a screen reader (a ``main`` landmark, one ``h1``, labelled fields, errors in
an ``alert`` tied to the field with ``aria-describedby``, a visible focus ring, text contrast
above 7:1). Every value shown is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

APP_NAME = "Session Tutorial"
TENANT_NAME = "session-tutorial"

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 background:#eef0f4;color:#1f2430;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
 "Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:25rem;margin:2rem 1rem;background:#fff;border-radius:.5rem;
 box-shadow:0 .75rem 2.5rem rgba(15,23,42,.12);padding:2.5rem 2.5rem 2rem}
header{text-align:center;margin-bottom:1.5rem}
.logo{display:inline-flex;width:3.25rem;height:3.25rem;border-radius:50%;background:#3f3bbf;
 align-items:center;justify-content:center;margin-bottom:1rem}
h1{font-size:1.5rem;font-weight:600;margin:0 0 .5rem}
.lead{margin:0;color:#4a5160}
label{display:block;font-weight:600;font-size:.95rem;margin:1rem 0 .35rem}
input[type=email],input[type=password],input[type=text]{width:100%;font:inherit;
 padding:.8rem .9rem;border:1px solid #6b7280;border-radius:.35rem;background:#fff;color:inherit}
input[aria-invalid=true]{border-color:#b3261e}
.primary,.secondary{display:block;width:100%;font:inherit;font-weight:600;margin-top:1.5rem;
 padding:.85rem 1rem;border-radius:.35rem;cursor:pointer}
.primary{background:#3f3bbf;color:#fff;border:1px solid #3f3bbf}
.primary:hover{background:#322ea0}
.secondary{background:#fff;color:#3f3bbf;border:1px solid #6b7280;margin-top:.75rem}
.linkish{background:none;border:0;padding:0;font:inherit;color:#3f3bbf;text-decoration:underline;
 cursor:pointer}
a{color:#3f3bbf}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.alert{margin:1rem 0 0;padding:.75rem .9rem;border-radius:.35rem;background:#fdecea;
 color:#7a1c12;border:1px solid #e8a39b}
.notice{margin:1rem 0 0;padding:.75rem .9rem;border-radius:.35rem;background:#fff8e1;
 color:#4d3800;border:1px solid #e0c36a}
.who{display:flex;gap:.75rem;align-items:center;margin:1.25rem 0 0;padding:.75rem;
 border:1px solid #d0d4dc;border-radius:.35rem}
.avatar{flex:none;width:2.5rem;height:2.5rem;border-radius:50%;background:#d9dbf5;color:#27257a;
 display:flex;align-items:center;justify-content:center;font-weight:700}
.small{font-size:.9rem;color:#4a5160}
.switch{margin-top:1.25rem;text-align:center}
footer{margin-top:1.75rem;text-align:center;font-size:.8rem;color:#4a5160}
"""

_LOGO = (
    '<svg aria-hidden="true" width="28" height="28" viewBox="0 0 24 24" fill="none" '
    'stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
    '<path d="M12 2 4 5v6c0 5 3.4 9.3 8 11 4.6-1.7 8-6 8-11V5z"/><path d="m9 12 2 2 4-4"/></svg>'
)


def _layout(title: str, body: str, head: str = "") -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">{head}'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · {TENANT_NAME}</title><style>{_CSS}</style></head>"
        f'<body><main id="st-login">{body}'
        f"<footer>{escape(TENANT_NAME)} · local tenant</footer></main></body></html>"
    )


def _header(title: str, lead: str) -> str:
    return (
        f'<header><div class="logo">{_LOGO}</div><h1>{escape(title)}</h1>'
        f'<p class="lead">{escape(lead)}</p></header>'
    )


def _hidden(params: Mapping[str, str], csrf: str) -> str:
    fields = [f'<input type="hidden" name="csrf" value="{escape(csrf)}">']
    fields += [
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    ]
    return "".join(fields)


def _error(message: str | None) -> tuple[str, str]:
    """The alert box and the attributes of the field it describes."""
    if not message:
        return "", ""
    box = f'<p class="alert" role="alert" id="st-error">{escape(message)}</p>'
    return box, ' aria-invalid="true" aria-describedby="st-error"'


def _invalid(error: str | None) -> str:
    return ' aria-invalid="true"' if error else ""


def _link(params: Mapping[str, str], **changes: str | None) -> str:
    query = {k: v for k, v in {**params, **changes}.items() if v is not None}
    return escape("authorize?" + urlencode(query))


def login(
    params: Mapping[str, str], csrf: str, *, email: str = "", error: str | None = None
) -> str:
    """Email and password, a sign-up link, a way back to the app."""
    alert, invalid = _error(error)
    focus_email = "" if email else " autofocus"
    focus_password = " autofocus" if email else ""
    body = (
        _header("Welcome", f"Log in to {TENANT_NAME} to continue to {APP_NAME}.")
        + alert
        + '<form method="post" action="authorize" novalidate>'
        + _hidden(params, csrf)
        + '<label for="username">Email address</label>'
        f'<input id="username" name="username" type="email" value="{escape(email)}" '
        f'autocomplete="username" required{invalid}{focus_email}>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        f"required{invalid}{focus_password}>"
        '<button class="primary" name="action" value="login" id="continue">Continue</button>'
        '<button class="secondary" name="action" value="cancel" id="cancel" formnovalidate>'
        "Cancel</button></form>"
        '<p class="switch">Don\'t have an account? '
        f'<a id="signup" href="{_link(params, screen_hint="signup")}">Sign up</a></p>'
    )
    return _layout("Log in", body)


def signup(
    params: Mapping[str, str],
    csrf: str,
    *,
    email: str = "",
    name: str = "",
    error: str | None = None,
) -> str:
    """Name, email and a new password."""
    alert, invalid = _error(error)
    body = (
        _header("Create your account", f"Sign up to {TENANT_NAME} to continue to {APP_NAME}.")
        + alert
        + '<form method="post" action="authorize" novalidate>'
        + _hidden(params, csrf)
        + '<label for="name">Name</label>'
        f'<input id="name" name="name" type="text" value="{escape(name)}" autocomplete="name" '
        "autofocus>"
        '<label for="username">Email address</label>'
        f'<input id="username" name="username" type="email" value="{escape(email)}" '
        f'autocomplete="username" required{invalid}>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="new-password" '
        f'required minlength="8" aria-describedby="st-password-rule"{_invalid(error)}>'
        '<p class="small" id="st-password-rule">At least 8 characters.</p>'
        '<button class="primary" name="action" value="signup" id="continue">Continue</button>'
        "</form>"
        '<p class="switch">Already have an account? '
        f'<a id="login" href="{_link(params, screen_hint=None)}">Log in</a></p>'
    )
    return _layout("Sign up", body)


def confirm(params: Mapping[str, str], csrf: str, *, name: str, email: str, loopback: bool) -> str:
    """Single sign-on: "Continue as Ada Lovelace?", with Auth0's warning for loopback callbacks."""
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    warning = (
        '<p class="notice" id="st-warning">An application on this computer is asking to sign '
        f"you in as {escape(name)}. Continue only if you started this sign-in yourself, just "
        "now.</p>"
        if loopback
        else ""
    )
    body = (
        _header(f"Continue as {name}?", f"You are signed in to {TENANT_NAME}.")
        + warning
        + f'<div class="who"><span class="avatar" aria-hidden="true">{escape(initials)}</span>'
        f'<span><strong>{escape(name)}</strong><br><span class="small">{escape(email)}</span>'
        "</span></div>"
        '<form method="post" action="authorize">'
        + _hidden(params, csrf)
        + '<button class="primary" name="action" value="continue" id="continue" autofocus>'
        f"Continue as {escape(name)}</button>"
        '<button class="secondary" name="action" value="cancel" id="cancel">Cancel</button>'
        '<p class="switch">Not you? <button class="linkish" name="action" value="switch" '
        'id="switch">Sign in with another account</button></p></form>'
    )
    return _layout("Continue", body)


def problem(title: str, message: str) -> str:
    """A page for what cannot be sent back to the application (bad client or redirect_uri)."""
    body = _header(title, "") + f'<p class="alert" role="alert">{escape(message)}</p>'
    return _layout(title, body)


def onward(url: str) -> str:
    """Send the browser on to ``url`` (the app's callback) from the page itself."""
    link = escape(url)
    body = _header("Returning to the app…", "") + (
        f'<p class="switch"><a id="onward" href="{link}">Continue to {APP_NAME}</a></p>'
    )
    return _layout("Returning", body, head=f'<meta http-equiv="refresh" content="0;url={link}">')
