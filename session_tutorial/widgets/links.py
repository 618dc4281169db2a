"""Where a browser should go for a URL the tenant gave us (a hook for proxies such as Binder's)."""

from __future__ import annotations


def browser_url(url: str) -> str:
    """The URL the learner's browser opens for ``url``; today ``url`` itself.

    >>> browser_url("http://127.0.0.1:8765/activate?user_code=WDJB-MJHT")
    'http://127.0.0.1:8765/activate?user_code=WDJB-MJHT'

    The kernel and the browser reach the tenant at the same address on a laptop. On Binder the
    browser can only reach it through jupyter-server-proxy (``/proxy/<port>/``): the rewrite for
    that belongs here, and only here.
    """
    return url
