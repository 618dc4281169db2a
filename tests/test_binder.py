"""Binder: the image repo2docker would build, and ``binder/start`` run here as its entry point.

No Docker daemon is needed: ``repo2docker --no-build`` only renders the Dockerfile, and
``binder/start`` runs on this machine as it would in the container, with a private HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from server_ready import drained, read_until, wait_until_listening

from session_tutorial.provider import background
from session_tutorial.provider.background import free_port
from session_tutorial.provider.forms import submit
from session_tutorial.tenant import default_ssl_context

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "binder" / "start"
PREFIX = "/user/learner-abc123/"  # a JupyterHub server's prefix, as on mybinder.org
TIMEOUT = 60  # seconds: an upper bound for any one step, never a wait

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Binder images are Linux"),
]

# Run by binder/start inside the Binder-like environment: the keychain and the tenant it set up.
PROBE = """\
import json, os, httpx, keyring
backend = keyring.get_keyring()
keyring.set_password("session-tutorial-tests", "binder", "s3cret")
port = os.environ["TUTORIAL_TENANT_PORT"]
device = httpx.post(
    f"http://127.0.0.1:{port}/oauth/device/code",
    data={"client_id": "tutorial-app", "scope": "openid profile offline_access"},
).json()
print(json.dumps({
    "backend": type(backend).__module__ + "." + type(backend).__name__,
    "read_back": keyring.get_password("session-tutorial-tests", "binder"),
    "keychain": os.environ.get("SESSION_TUTORIAL_KEYCHAIN"),
    "bus": os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    "home": os.environ["HOME"],
    "verification_uri_complete": device["verification_uri_complete"],
}))
"""


def repo2docker(*args: str) -> subprocess.CompletedProcess[str]:
    # An unreachable DOCKER_HOST proves --no-build never talks to a Docker daemon.
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    return subprocess.run(
        [sys.executable, "-m", "repo2docker", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def dockerfile() -> str:
    result = repo2docker("--no-build", "--debug", str(ROOT))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_repo2docker_no_build_needs_no_docker_daemon(dockerfile: str) -> None:
    assert dockerfile.lstrip().startswith("FROM ")


def test_repo2docker_builds_the_environment_from_binder(dockerfile: str) -> None:
    assert "COPY --chown=0:0 src/binder/environment.yml" in dockerfile
    assert '--file "binder/environment.yml"' in dockerfile
    assert '--file "environment.yml"' not in dockerfile  # the root file is for conda learners


def test_repo2docker_uses_the_pinned_python(dockerfile: str) -> None:
    pinned = re.search(r"python=(3\.\d+)", (ROOT / "binder" / "environment.yml").read_text())
    assert pinned
    lock = pinned.group(1).replace(".", "-2e")  # repo2docker escapes the lock file's name
    assert f"environment-2epy-2d{lock}-2dlinux-2d64" in dockerfile


def test_repo2docker_installs_the_apt_packages(dockerfile: str) -> None:
    install = re.search(r"apt-get install --yes --no-install-recommends ([^&]+)&&", dockerfile)
    assert install, "no apt.txt install step"
    assert {"gnome-keyring", "dbus", "dbus-user-session"} <= set(install.group(1).split())


def test_repo2docker_runs_postbuild_and_starts_with_binder_start(dockerfile: str) -> None:
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/repo2docker-entrypoint"]' in dockerfile


@dataclass
class BinderHome:
    """A private HOME and environment in which binder/start runs as in the container."""

    home: Path
    env: dict[str, str]
    tenant_port: int

    @property
    def tenant_dir(self) -> Path:
        """Where binder/start's tenant keeps its state: the provider's default data dir under
        this HOME (platformdirs' on Linux, the environment having no XDG_DATA_HOME)."""
        return self.home / ".local" / "share" / "session-tutorial" / "tenant"

    def provider(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "session_tutorial.provider", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


@contextlib.contextmanager
def private_binder_home() -> Iterator[BinderHome]:
    """A fresh HOME and environment; stops the tenant binder/start leaves behind."""
    # Short, so the keyring's Unix socket path fits (pytest's tmp_path can be too deep).
    home = Path(tempfile.mkdtemp(prefix="st-binder-", dir="/tmp"))
    env = {
        key: value
        for key, value in os.environ.items()
        # No Secret Service, tenant or Jupyter settings from the test run leak in.
        if not key.startswith(("DBUS_", "XDG_", "SESSION_TUTORIAL_", "JUPYTER", "TUTORIAL_"))
    }
    port = free_port()
    env.update(
        TUTORIAL_CALLBACK_PORT=str(free_port()),
        HOME=str(home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        TUTORIAL_TENANT_PORT=str(port),
        JUPYTERHUB_SERVICE_PREFIX=PREFIX,
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        PYTHONUNBUFFERED="1",
    )
    binder = BinderHome(home, env, port)
    try:
        yield binder
    finally:
        # The tenant binder/start left in the background, stopped from here (`provider stop`
        # would cost a Python start of its own); by the command if it lives elsewhere.
        if not background.stop(binder.tenant_dir):
            binder.provider("stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def binder_home() -> Iterator[BinderHome]:
    with private_binder_home() as binder:
        yield binder


def test_binder_start_brings_up_the_keychain_and_the_tenant(binder_home: BinderHome) -> None:
    began = time.monotonic()
    result = subprocess.run(
        [str(START), sys.executable, "-c", PROBE],
        env=binder_home.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert probe["backend"] == "keyring.backends.SecretService.Keyring"
    assert probe["read_back"] == "s3cret"
    assert probe["keychain"], "not on the launcher's private keychain"
    assert probe["bus"]
    assert probe["home"] == str(binder_home.home)
    port = binder_home.tenant_port
    assert probe["verification_uri_complete"].startswith(f"{PREFIX}proxy/{port}/activate?")
    status = binder_home.provider("status")
    assert status.returncode == 0
    assert f"http://127.0.0.1:{port}" in status.stdout
    assert str(binder_home.home) in status.stdout  # the default data dir, under HOME
    assert str(binder_home.tenant_dir) in status.stdout
    print(f"binder/start + probe: {elapsed:.2f} s")


def test_binder_start_uses_the_hub_public_url_when_given(binder_home: BinderHome) -> None:
    env = {**binder_home.env, "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/hub-base/"}
    result = subprocess.run(
        [str(START), sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    port = binder_home.tenant_port
    expected = f"https://hub.example.org{PREFIX}proxy/{port}/activate?"
    assert probe["verification_uri_complete"].startswith(expected)


class JupyterUnderStart:
    """``binder/start jupyter lab ...``, as the Binder image runs it, until shut down."""

    def __init__(self, binder: BinderHome) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}{PREFIX}"
        self.env = binder.env
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [
                str(START),
                "jupyter",
                "lab",
                "--no-browser",
                f"--port={self.port}",
                "--ip=127.0.0.1",
                f"--ServerApp.base_url={PREFIX}",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={ROOT}",
                *(["--allow-root"] if os.getuid() == 0 else []),  # containers, CI
            ],
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, to end everything it started
        )
        # The address it prints: the port asked for, or the next free one if another process
        # took that port before Jupyter checked it (Jupyter then tries others, and says so).
        printed = re.compile(rf"http://127\.0\.0\.1:(\d+){re.escape(PREFIX)}lab\b")
        found = printed.search(self._wait_for_line(printed))
        assert found is not None
        self.port = int(found.group(1))
        self.base = f"http://127.0.0.1:{self.port}{PREFIX}"
        wait_until_listening("127.0.0.1", self.port)  # read_until's reader drains its output
        self.http = httpx.Client(
            headers={"Authorization": f"token {self.token}"},
            timeout=TIMEOUT,
            verify=default_ssl_context(),
        )

    def _wait_for_line(self, needle: re.Pattern[str]) -> str:
        assert self.proc.stdout is not None
        line = read_until(self.proc.stdout, self.lines, needle, TIMEOUT)
        if line is None:
            raise AssertionError("Jupyter did not start:\n" + "".join(self.lines[-40:]))
        return line

    def run_in_kernel(self, code: str) -> str:
        from jupyter_client import BlockingKernelClient

        kernel = self.http.post(self.base + "api/kernels", json={"name": "python3"})
        assert kernel.status_code == 201, kernel.text
        kernel_id = kernel.json()["id"]
        runtime = Path(self.env["JUPYTER_RUNTIME_DIR"])
        client = BlockingKernelClient()
        client.load_connection_file(str(runtime / f"kernel-{kernel_id}.json"))
        # No heartbeat channel: without the kernel's manager, a client judges "alive" by the
        # heartbeat alone, and on a loaded machine the first beat can come after the first
        # kernel_info timeout (1 s), which jupyter_client reports as "Kernel died". The bounded
        # wait for kernel_info below still fails if the kernel never answers.
        client.start_channels(hb=False)
        out: list[str] = []
        try:
            client.wait_for_ready(timeout=TIMEOUT)

            def hook(msg: dict) -> None:
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    out.append("\n".join(msg["content"]["traceback"]))

            reply = client.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
            assert reply["content"]["status"] == "ok", "".join(out)
        finally:
            client.stop_channels()
            self.http.delete(self.base + f"api/kernels/{kernel_id}")
        return "".join(out)

    def shutdown(self) -> None:
        try:
            if self.proc.poll() is None:
                self.http.post(self.base + "api/shutdown")
            self.proc.wait(timeout=TIMEOUT)
        except (httpx.HTTPError, subprocess.TimeoutExpired):
            pass
        finally:
            self.http.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # whatever of its group is left
            self.proc.wait(timeout=TIMEOUT)
            if self.proc.stdout is not None:
                drained(self.proc.stdout, TIMEOUT)
                self.proc.stdout.close()


@pytest.fixture(scope="module")
def jupyter_home() -> Iterator[BinderHome]:
    with private_binder_home() as binder:
        yield binder


@pytest.fixture(scope="module")
def jupyter(jupyter_home: BinderHome) -> Iterator[JupyterUnderStart]:
    """One JupyterLab under binder/start for this module's tests (it takes seconds to start)."""
    server = JupyterUnderStart(jupyter_home)
    try:
        yield server
    finally:
        server.shutdown()


def test_kernels_under_binder_start_use_the_private_keychain(
    jupyter: JupyterUnderStart,
) -> None:
    out = jupyter.run_in_kernel(PROBE)
    probe = json.loads(out.strip().splitlines()[-1])

    assert probe["backend"] == "keyring.backends.SecretService.Keyring"
    assert probe["read_back"] == "s3cret"
    assert probe["keychain"]


def test_device_flow_page_works_through_jupyter_server_proxy(
    jupyter: JupyterUnderStart, jupyter_home: BinderHome
) -> None:
    tenant = f"http://127.0.0.1:{jupyter_home.tenant_port}"
    device = httpx.post(
        tenant + "/oauth/device/code",
        data={"client_id": "tutorial-app", "scope": "openid profile offline_access"},
        timeout=TIMEOUT,
        verify=default_ssl_context(),
    ).json()
    # The link the widget shows, followed as the browser would: same origin as JupyterLab.
    link = device["verification_uri_complete"]
    assert link.startswith(f"{PREFIX}proxy/{jupyter_home.tenant_port}/activate?")
    server = f"http://127.0.0.1:{jupyter.port}"

    page = jupyter.http.get(server + link)
    assert page.status_code == 200
    assert device["user_code"] in page.text
    # The page's form posts to the relative "activate": through the proxy too.
    approved = submit(
        jupyter.http,
        server + link,
        {
            "user_code": device["user_code"],
            "username": "ada@example.com",
            "password": "Analytical-Engine-1843",
            "action": "approve",
        },
    )
    assert approved.status_code == 200, approved.text
    assert "Ada Lovelace" in approved.text

    token = httpx.post(
        tenant + "/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "tutorial-app",
            "device_code": device["device_code"],
        },
        timeout=TIMEOUT,
        verify=default_ssl_context(),
    )
    assert token.status_code == 200, token.text
    assert "refresh_token" in token.json()


def test_jupyterlab_proxy_needs_the_learners_login(
    jupyter: JupyterUnderStart, jupyter_home: BinderHome
) -> None:
    anonymous = httpx.get(
        f"http://127.0.0.1:{jupyter.port}{PREFIX}proxy/{jupyter_home.tenant_port}/activate",
        timeout=TIMEOUT,
        verify=default_ssl_context(),
    )
    assert anonymous.status_code in (302, 403)


# Run by binder/start beside JupyterLab: a browser sign-in as a kernel would start it.
SIGN_IN = """\
import json
from session_tutorial import BrowserLogin, MemoryStore, SessionManager, Tenant
session = SessionManager(Tenant.local(), MemoryStore())
login = BrowserLogin(session)
print(json.dumps({"url": login.url, "redirect_uri": login.receiver.redirect_uri}), flush=True)
print("signed in:", login.complete(timeout=60)["name"], flush=True)
"""


def test_browser_sign_in_completes_through_jupyter_server_proxy(
    jupyter: JupyterUnderStart, jupyter_home: BinderHome
) -> None:
    from session_tutorial.scripted_browser import ScriptedBrowser, play_sign_in

    app = subprocess.Popen(
        [str(START), sys.executable, "-c", SIGN_IN],
        env=jupyter_home.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the launcher and its keychain
    )
    try:
        assert app.stdout is not None
        line = app.stdout.readline()
        while line and not line.startswith("{"):  # binder/start's own lines come first
            line = app.stdout.readline()
        started = json.loads(line)
        tenant, callback = jupyter_home.tenant_port, jupyter_home.env["TUTORIAL_CALLBACK_PORT"]
        # Both ends are reached through the learner's own Jupyter server, behind its login.
        assert started["url"].startswith(f"{PREFIX}proxy/{tenant}/authorize?")
        assert started["redirect_uri"] == f"{PREFIX}proxy/{callback}/callback"
        server = f"http://127.0.0.1:{jupyter.port}"
        visit = play_sign_in(
            ScriptedBrowser(http=jupyter.http),
            server + started["url"],
            "ada@example.com",
            "Analytical-Engine-1843",
        )
        assert visit.asked_for_password
        assert visit.final.url.startswith(f"{server}{PREFIX}proxy/{callback}/callback?")
        # Should the proxy ever fail to reach the app (once, at a load average of 8: its own
        # "599" page), its log line says why; the one-time code is masked.
        log = re.sub(r"(code|state)=[^&\s]+", r"\1=...", "".join(jupyter.lines[-20:]))
        assert "Signed in as Ada Lovelace: you can close this tab." in visit.final.text, (
            f"{visit.final.title}\n--- the Jupyter server's log ends with:\n{log}"
        )
        # The launcher's keychain daemons may hold the pipe open: read the line, not to EOF.
        assert app.stdout.readline().strip() == "signed in: Ada Lovelace"
        assert app.wait(timeout=TIMEOUT) == 0
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=TIMEOUT)
        for pipe in (app.stdout, app.stderr):
            if pipe is not None:
                pipe.close()
