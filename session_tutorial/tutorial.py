"""What every notebook shares: the tenant, a keychain-backed session, and teaching controls.

Each notebook opens with::

    tutorial = Tutorial.start()
    session = tutorial.session

It talks to the local tenant unless ``AUTH0_DOMAIN`` and ``AUTH0_CLIENT_ID`` are set. Teaching
controls (the tenant's clock, an admin's revoke) exist only on the local tenant; elsewhere the
helpers below say why they skip instead of failing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from session_tutorial import status
from session_tutorial.commands import python_command, tenant_command
from session_tutorial.credentials import Credentials, redact
from session_tutorial.provider.config import DEMO_USERS
from session_tutorial.scripted_browser import ScriptedBrowser, play_sign_in
from session_tutorial.session import SessionManager
from session_tutorial.status import Status
from session_tutorial.store import CredentialStore, Store
from session_tutorial.tenant import Tenant
from session_tutorial.timewords import duration, rough_duration

_TOKENS = ("access_token", "id_token", "refresh_token")
LAB_URL = "http://localhost:8888/lab"  # JupyterLab's usual address, when none is found

NO_TEACHING = (
    "Skipped: this tenant has no teaching controls (a real Auth0 tenant has none). "
    "On the local tenant this cell {what}."
)


class Note(str):
    """A sentence for the reader; shown as plain text, without quotes, when a cell returns it."""

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class EntrySummary:
    """A keychain entry described without its secrets."""

    lines: tuple[str, ...]

    def __repr__(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Tutorial:
    """The notebooks' shared setup: which tenant, which keychain, which clock."""

    tenant: Tenant
    store: Store
    control: Any = field(default=None, repr=False)  # TenantControl, on the local tenant only
    session: SessionManager = field(init=False, repr=False)
    _others: list[SessionManager] = field(default_factory=list, init=False, repr=False)
    _browser: ScriptedBrowser | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.session = self.next_launch()

    def close(self) -> None:
        """Close every session manager this tutorial made (the keychain entry stays)."""
        for manager in [self.session, *self._others]:
            manager.close()
        self._others.clear()
        if self._browser is not None:
            self._browser.close()
            self._browser = None

    @classmethod
    def start(cls, store: Store | None = None) -> Tutorial:
        """The local tenant (started if needed), or yours when ``AUTH0_DOMAIN`` is set."""
        tenant = Tenant.from_env() if os.environ.get("AUTH0_DOMAIN") else Tenant.local()
        store = store if store is not None else CredentialStore(account=tenant.account)
        return cls(tenant, store, _teaching_controls(tenant))

    @property
    def clock(self) -> Callable[[], float]:
        """The client's clock: it follows the local tenant's, which a teacher can advance."""
        return self.tenant.clock

    @property
    def is_local(self) -> bool:
        return not os.environ.get("AUTH0_DOMAIN")

    def next_launch(self) -> SessionManager:
        """A new SessionManager that remembers nothing: what the app has at its next launch."""
        if getattr(self, "session", None) is not None:
            self.session.close()
        self.session = SessionManager(self.tenant, self.store, clock=self.clock)
        return self.session

    def demo_user(self, who: str = "ada") -> tuple[str, str]:
        """Email and password of a demo user (``TUTORIAL_USERNAME``/``_PASSWORD`` override)."""
        if os.environ.get("TUTORIAL_USERNAME"):
            return os.environ["TUTORIAL_USERNAME"], os.environ.get("TUTORIAL_PASSWORD", "")
        for email, password, _name in DEMO_USERS:
            if email.startswith(who.lower() + "@"):
                return email, password
        raise ValueError(f"No demo user called {who!r}: try 'ada' or 'alan'.")

    def check(self) -> Status:
        """What ``python -m session_tutorial status`` says: keychain, tenant, session, controls."""
        return status.check(
            self.tenant, self.store, local=self.is_local, teaching=self.control is not None
        )

    def start_signed_out(self) -> str:
        """Sign out any session an earlier run left behind, so the notebook starts clean."""
        self.session.sign_out(revoke=True, force=True)
        return Note("Starting signed out: the keychain holds no session for this app.")

    def ensure_signed_in(self, who: str = "ada") -> str:
        """Make sure a session is saved, signing the demo user in if none is."""
        profile = self.session.restore()
        if profile is not None:
            return Note(f"Ready: restored the session of {profile['name']} saved in the keychain.")
        profile = self.session.login(*self.demo_user(who))
        saved = "" if self.session.store_error else " and saved the session in the keychain"
        return Note(f"Ready: no saved session, so signed {profile['name']} in{saved}.")

    def commands(self) -> Note:
        """The terminal commands of the tutorial, spelled for this machine's interpreter."""
        rows = (
            ("the same report as check()", python_command("-m", "session_tutorial", "status")),
            ("start the local tenant", tenant_command("start")),
            ("stop it", tenant_command("stop")),
            ("put the tenant's clock back", tenant_command("clock", "--reset")),
            (
                "sign out and clear the keychain",
                python_command("-m", "session_tutorial", "sign-out"),
            ),
        )
        lines = ["In a terminal (File → New → Terminal), as written:"]
        for what, command in rows:
            lines += [f"- {what}:", f"    {command}"]
        return Note("\n".join(lines))

    def lab_url(self) -> str:
        """The address of the JupyterLab this kernel runs in, ``…/lab`` (the app's own page).

        Read from the file a Jupyter server keeps its address in, ``jpserver-<its pid>.json``
        in Jupyter's runtime folder (what ``jupyter server list`` reads), for the server that
        started this kernel: the file itself, without importing the server to list them all
        (about 0.3 s of CPU in a kernel). That server is the one jupyter_client names in
        ``JPY_PARENT_PID``, which is this kernel's parent process unless something between
        them started it (a wrapper script, the test suite's fork server); else the parent.
        Outside JupyterLab (a script, a test run), JupyterLab's usual address.
        """
        try:
            ppid = int(os.environ.get("JPY_PARENT_PID") or os.getppid())
        except ValueError:
            ppid = os.getppid()
        try:
            from jupyter_core.paths import jupyter_runtime_dir

            info = json.loads(Path(jupyter_runtime_dir(), f"jpserver-{ppid}.json").read_text())
        except (ImportError, OSError, ValueError):  # no Jupyter server here, or half written
            info = None
        if isinstance(info, dict) and info.get("pid") == ppid and isinstance(info.get("url"), str):
            return info["url"].rstrip("/") + "/lab"
        return LAB_URL

    def offline_session(self) -> SessionManager:
        """A SessionManager whose tenant cannot be reached (same keychain, same clock).

        It stands for "the Wi-Fi dropped": port 9 on this machine refuses every connection.
        """
        unreachable = replace(self.tenant, domain="http://127.0.0.1:9")
        manager = SessionManager(unreachable, self.store, clock=self.clock)
        self._others.append(manager)
        return manager

    def keychain_entry(self) -> EntrySummary:
        """What the keychain holds for this app, tokens redacted."""
        raw = self.store.load()
        if raw is None:
            return EntrySummary(("The keychain holds no entry for this app.",))
        fields = json.loads(raw)
        lines = [f"One keychain entry, {len(raw.encode())} bytes, holding:"]
        for name, value in fields.items():
            shown = redact(value) if name in _TOKENS and value else repr(value)
            if name == "expires_at":
                shown = f"a time {rough_duration(value - self.clock())} from now"
            lines.append(f"  {name:<14} {shown}")
        return EntrySummary(tuple(lines))

    def expiry(self, credentials: Credentials) -> str:
        """When the access token expires, in rough words."""
        left = credentials.expires_in(self.clock())
        if left <= 0:
            return Note(f"The access token expired about {rough_duration(-left)} ago.")
        return Note(f"The access token expires in about {rough_duration(left)}.")

    def advance_clock(self, seconds: float) -> str:
        """Move the tenant's clock and the client's forward together (local tenant only)."""
        if self.control is None:
            return Note(NO_TEACHING.format(what=f"moves the clock {duration(seconds)} forward"))
        self.control.advance_clock(seconds)
        return Note(f"The tenant's clock (and ours) moved {duration(seconds)} forward.")

    def revoke_sessions(self, email: str) -> str:
        """Revoke all of a user's refresh tokens, as an admin would (local tenant only)."""
        if self.control is None:
            return Note(
                NO_TEACHING.format(what="revokes the user's refresh tokens, as an admin would")
            )
        self.control.revoke_user(email)
        return Note(f"An admin revoked every session of {email}.")

    @property
    def browser(self) -> ScriptedBrowser:
        """The learner's browser, played by code: it keeps the tenant's cookies between cells."""
        if self._browser is None:
            self._browser = ScriptedBrowser(verify=self.tenant.ssl_context)
        return self._browser

    def sign_in_on_tenant_page(
        self, url: str | None, who: str = "ada", cancel: bool = False
    ) -> Note:
        """Play the person at the browser: sign in on the tenant's page (or press Cancel).

        Unattended runs (nbval, CI) use it where a learner clicks; a learner can do either.
        """
        if not self.is_local:
            return Note("Skipped: sign in on the page yourself; on a real tenant only you can.")
        if not url:
            return Note("There is no sign-in link yet: press Sign in with the browser first.")
        try:
            visit = play_sign_in(self.browser, url, *self.demo_user(who), cancel=cancel)
        except httpx.HTTPError as exc:
            return Note(f"The browser could not load the page ({type(exc).__name__}).")
        return Note(repr(visit))

    def play_browser_sign_in(self, widget: Any, who: str = "ada", timeout: float = 60) -> Note:
        """Press the widget's "Sign in with the browser", then play the person at the browser.

        What a learner does by hand, for unattended runs: the widget starts a sign-in, the
        played browser signs in on the tenant's real page (or says "Continue"), and the widget
        turns to "Signed in as ..." when the callback arrives.
        """
        if not self.is_local:
            return Note(
                "Skipped: press the button and sign in yourself; on a real tenant only you can."
            )
        widget.start()
        note = self.sign_in_on_tenant_page(widget.url, who)
        widget.wait(timeout)
        return note

    def code_from_tenant_page(self, url: str, who: str = "ada") -> str | None:
        """Sign in on the tenant's page but keep the code instead of delivering it (exercises)."""
        page = self.browser.open(url)
        if page.shows_password_field:
            page = self.browser.press(
                page, "login", username=self.demo_user(who)[0], password=self.demo_user(who)[1]
            )
        elif "continue" in page.buttons:
            page = self.browser.press(page, "continue")
        query = parse_qs(urlsplit(page.location or "").query)
        return query.get("code", [None])[0]

    def open_tenant_page(self, url: str) -> Note:
        """Open ``url`` in the played browser and say what the tenant's page asks for."""
        page = self.browser.open(url)
        if page.location is not None:
            return Note("The tenant answered at once, without a page (single sign-on).")
        asks = "email and password" if page.shows_password_field else "no password"
        return Note(f'The tenant\'s page "{page.title}" asks for {asks}.')

    def sign_out_of_browser(self, logout_url: str) -> Note:
        """Send the played browser to ``/v2/logout``: the tenant's login session ends."""
        page = self.browser.open(logout_url)
        ended = "st_session" not in self.browser.http.cookies
        where = f", then back to {page.location}" if page.location else ""
        state = "ended" if ended else "still there"
        return Note(f"The browser went to the tenant's /v2/logout{where}; its session is {state}.")

    def approve_device_login(self, device: Any, who: str = "ada") -> Note:
        """Play the person with the phone: sign in on the tenant's page and approve the code.

        ``device`` is a ``DeviceLoginWidget`` (or its user code). One that is signed in already
        (you approved it yourself) is left as it is.
        """
        return self._decide_device_login(device, who, "approve")

    def deny_device_login(self, device: Any, who: str = "ada") -> Note:
        """Play the person with the phone: sign in on the tenant's page and deny the code."""
        return self._decide_device_login(device, who, "deny")

    def _decide_device_login(self, device: Any, who: str, action: str) -> Note:
        if getattr(device, "state", None) == "signed in":
            return Note(f"Nothing to {action}: the widget is signed in already (you approved it).")
        user_code = device if isinstance(device, str) or device is None else device.user_code
        if user_code is None:
            return Note(f"Nothing to {action}: the widget has no code; call device.begin() first.")
        if not self.is_local:
            return Note(
                f"Skipped: open the link yourself and {action}; on a real tenant only you can."
            )
        email, password = self.demo_user(who)
        # Deciding needs the account's password either way: otherwise any page could cancel
        # anyone's device login.
        form = {
            "user_code": user_code,
            "username": email,
            "password": password,
            "action": action,
        }
        # Imported here: forms.py is the tenant's (it loads Starlette), and a kernel that never
        # decides a device login should not load it.
        from session_tutorial.provider.forms import submit

        with httpx.Client(timeout=10, verify=self.tenant.ssl_context) as browser:  # keeps cookies
            r = submit(browser, f"{self.tenant.base_url}/activate", form)
        if r.status_code != 200:
            return Note(
                f"The tenant's page answered HTTP {r.status_code}: the code no longer waits for"
                " a decision (decided already, perhaps by you on the page, or expired). Poll"
                " the widget to see which."
            )
        done = "Approved" if action == "approve" else "Denied"
        return Note(f"{done} on the tenant's page, as the person with the phone would.")

    def ask_from_threads(self, count: int = 32) -> Note:
        """``count`` threads ask ``session.credentials()`` at the same moment; what happened?"""
        before = self._rotations()
        barrier = threading.Barrier(count)

        def ask(_: int) -> str:
            barrier.wait()  # all start together, to make the race as likely as it gets
            return self.session.credentials().access_token

        with ThreadPoolExecutor(count) as pool:
            tokens = set(pool.map(ask, range(count)))
        after = self._rotations()
        seen = ""
        if before is not None and after is not None:
            seen = f"; the tenant saw {after - before} refresh(es)"
        return Note(f"{count} threads asked at once and got {len(tokens)} access token(s){seen}.")

    def run_script(self, path: str, copies: int = 1) -> Note:
        """Run a Python script in ``copies`` processes at once: their lines, and the refreshes."""
        before = self._rotations()
        procs = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(copies)
        ]
        lines = [p.communicate(timeout=120)[0].strip() for p in procs]
        after = self._rotations()
        report = [f"process {i + 1}: {line}" for i, line in enumerate(lines)]
        if before is not None and after is not None:
            report.append(f"the tenant saw {after - before} refresh(es)")
        return Note("\n".join(report))

    def _rotations(self) -> int | None:
        """How many refreshes the tenant has seen for the demo user (local tenant only)."""
        if self.control is None:
            return None
        sessions = self.control.sessions(self.demo_user()[0])
        return sum(int(s["rotations"]) for s in sessions)


def _teaching_controls(tenant: Tenant) -> Any:
    """The tenant's TenantControl when it has teaching controls, else None."""
    if tenant.host.split(":")[0] not in ("127.0.0.1", "localhost"):
        return None
    from session_tutorial.provider.config import default_data_dir
    from session_tutorial.provider.control import TenantControl
    from session_tutorial.provider.keyfiles import admin_key

    data_dir = default_data_dir()
    control = TenantControl(tenant.base_url, admin_key(data_dir), data_dir=data_dir)
    try:
        control.offset()
    except (RuntimeError, httpx.HTTPError):
        return None
    return control
