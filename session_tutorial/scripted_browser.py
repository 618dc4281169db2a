"""A browser played by code, for unattended runs: it signs in on the tenant's real login page.

Notebooks run by nbval or CI have nobody to type a password into the tenant's page, so this
plays that person, over real HTTP, as ``Tutorial.approve_device_login`` does for the device
flow: it keeps the tenant's cookies (its login session), reads the page's form with its hidden
fields and CSRF token, presses a button, and follows the redirect to the app's callback.

>>> browser = ScriptedBrowser()  # doctest: +SKIP
>>> page = browser.open(authorize_url)  # doctest: +SKIP
>>> page.shows_password_field  # doctest: +SKIP
True
>>> browser.press(page, "login", username=email, password=password).status  # doctest: +SKIP
200
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from .tenant import default_ssl_context


class _Forms(HTMLParser):
    """The first form's action and hidden fields, and the page's buttons and title."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.buttons: set[str] = set()
        self.inputs: set[str] = set()
        self.title = ""
        self.refresh: str | None = None  # <meta http-equiv="refresh" content="0;url=...">
        self._in_h1 = False
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._forms += 1
            if self._forms == 1:
                self.action = a.get("action", "")
        elif tag == "input" and self._forms == 1:
            if a.get("type") == "hidden":
                self.hidden[a.get("name", "")] = a.get("value", "")
            else:
                self.inputs.add(a.get("name", ""))
        elif tag == "button" and a.get("name") == "action":
            self.buttons.add(a.get("value", ""))
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.refresh = a.get("content", "").partition("url=")[2] or None

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.title += data


@dataclass
class Page:
    """What the browser shows after one request (or the redirect it was told to follow)."""

    url: str
    status: int
    text: str
    location: str | None = None  # where a redirect points, made absolute
    title: str = ""
    action: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)

    @property
    def shows_password_field(self) -> bool:
        return "password" in self.inputs


class ScriptedBrowser:
    """Keeps cookies like a browser; opens pages, presses buttons, follows one redirect."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
        verify: ssl.SSLContext | bool | None = None,
    ) -> None:
        # None: the process's one default context, not a new one per browser (tenant.py).
        chosen = default_ssl_context() if verify is None else verify
        self.http = http or httpx.Client(timeout=timeout, verify=chosen)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ScriptedBrowser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self, url: str) -> Page:
        """GET ``url`` as a top-level navigation."""
        response = self.http.get(url, headers={"Sec-Fetch-Site": "none"}, follow_redirects=False)
        return self._page(response)

    def press(self, page: Page, action: str, **fields: str) -> Page:
        """Submit the page's form with the button ``action`` and ``fields`` typed in."""
        if page.action is None:
            raise ValueError(f"The page {page.title!r} has no form.")
        parts = urlsplit(page.url)
        response = self.http.post(
            urljoin(page.url, page.action),
            data={**page.hidden, **fields, "action": action},
            headers={"Origin": f"{parts.scheme}://{parts.netloc}", "Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )
        return self._page(response)

    def follow(self, page: Page) -> Page:
        """Follow the page's redirect, as a browser would (to the app's callback, say)."""
        if page.location is None:
            raise ValueError(f"The page {page.title!r} does not redirect.")
        return self.open(page.location)

    @staticmethod
    def _page(response: httpx.Response) -> Page:
        url = str(response.url)
        location = response.headers.get("location")
        parsed = _Forms()
        if "html" in response.headers.get("content-type", ""):
            parsed.feed(response.text)
            location = location or parsed.refresh
        return Page(
            url=url,
            status=response.status_code,
            text=response.text,
            location=urljoin(url, location) if location else None,
            title=parsed.title.strip(),
            action=parsed.action,
            hidden=parsed.hidden,
            buttons=parsed.buttons,
            inputs=parsed.inputs,
        )


@dataclass(frozen=True)
class Visit:
    """What the played person saw and did on the tenant's pages, and where the tab ended."""

    steps: tuple[str, ...]
    final: Page

    @property
    def asked_for_password(self) -> bool:
        return any("password" in step for step in self.steps)

    def __repr__(self) -> str:
        return "\n".join(self.steps)


def play_sign_in(
    browser: ScriptedBrowser, url: str, email: str, password: str, *, cancel: bool = False
) -> Visit:
    """Sign in on the tenant's page at ``url`` as a person would, and follow it to the app.

    Types the password when the page asks for it, presses "Continue" when it asks "Continue
    as ...?", or Cancel when ``cancel``; then follows the redirect to the app's callback and
    reads what the tab says there.
    """
    steps: list[str] = []
    page = browser.open(url)
    for _ in range(3):  # login page, maybe one wrong turn, then the redirect
        if page.location is not None:
            break
        if page.action is None:
            steps.append(f"The tenant's page says: {page.title}.")
            return Visit(tuple(steps), page)
        if cancel:
            steps.append(f'The tenant\'s page "{page.title}": pressed Cancel.')
            page = browser.press(page, "cancel")
        elif page.shows_password_field:
            steps.append(f'The tenant\'s page "{page.title}" asked for email and password: typed.')
            page = browser.press(page, "login", username=email, password=password)
        elif "continue" in page.buttons:
            steps.append(f'The tenant\'s page asked "{page.title}": pressed Continue.')
            page = browser.press(page, "continue")
        else:
            break
    if page.location is None:
        steps.append(f"The tenant's page stayed on: {page.title}.")
        return Visit(tuple(steps), page)
    tab = browser.follow(page)
    said = _paragraph(tab.text) or tab.title
    steps.append(f"Back at the app, the tab says: {said}")
    return Visit(tuple(steps), tab)


def _paragraph(html: str) -> str:
    start = html.find("<p>")
    end = html.find("</p>", start)
    if start < 0 or end < 0:
        return ""
    from html import unescape

    return unescape(html[start + 3 : end])
