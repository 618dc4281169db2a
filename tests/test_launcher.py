"""The launcher gives a command a real, private Secret Service where Linux has none."""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_tutorial import launcher

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the private Secret Service is Linux-only"
)

ROUND_TRIP = """\
import keyring
backend = keyring.get_keyring()
keyring.set_password("session-tutorial-tests", "launcher", "s3cret")
print(type(backend).__module__ + "." + type(backend).__name__)
print(keyring.get_password("session-tutorial-tests", "launcher"))
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Path]:
    """A short XDG_RUNTIME_DIR: pytest's tmp_path is too deep for a Unix socket path."""
    path = Path(tempfile.mkdtemp(prefix="st-run-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def headless_env(tmp_path: Path, runtime: Path, **extra: str) -> dict[str, str]:
    """The environment of a machine with no desktop session: no D-Bus, no keyring setting."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND", launcher.KEYCHAIN_ENV)
    }
    home = tmp_path / "home"
    home.mkdir(exist_ok=True, mode=0o700)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
    env.update(extra)
    return env


def launch(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "session_tutorial.launcher", "--", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.integration
def test_without_a_session_bus_a_secret_round_trips_out_of_the_users_home(
    tmp_path: Path, runtime: Path
) -> None:
    result = launch(sys.executable, "-c", ROUND_TRIP, env=headless_env(tmp_path, runtime))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["keyring.backends.SecretService.Keyring", "s3cret"]
    assert list((tmp_path / "home").iterdir()) == []
    (private,) = runtime.glob("session-tutorial-keychain-*")
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert (private / "data" / "keyrings" / "login.keyring").exists()


@pytest.mark.integration
def test_the_command_keeps_its_home_and_never_sees_the_keyring_password(
    tmp_path: Path, runtime: Path
) -> None:
    env = headless_env(tmp_path, runtime)
    show_env = "import json, os; print(json.dumps(dict(os.environ)))"
    result = launch(sys.executable, "-c", show_env, env=env)
    assert result.returncode == 0, result.stderr
    child = json.loads(result.stdout)
    assert child["HOME"] == env["HOME"]
    assert child["PYTHON_KEYRING_BACKEND"] == "keyring.backends.SecretService.Keyring"
    assert child[launcher.KEYCHAIN_ENV] == launcher.PRIVATE_KEYCHAIN
    assert "DBUS_SESSION_BUS_ADDRESS" in child
    assert not any("KEYRING_PASSWORD" in name for name in child)


@pytest.mark.integration
def test_the_commands_exit_status_comes_back(tmp_path: Path, runtime: Path) -> None:
    assert launch("sh", "-c", "exit 3", env=headless_env(tmp_path, runtime)).returncode == 3


@pytest.mark.integration
def test_a_launcher_inside_a_launcher_reuses_the_secret_service_it_finds(
    tmp_path: Path, runtime: Path
) -> None:
    show_bus = "echo $DBUS_SESSION_BUS_ADDRESS"
    nested = shlex.join(
        [sys.executable, "-m", "session_tutorial.launcher", "--", "sh", "-c", show_bus]
    )
    script = f"{show_bus}; {nested}"
    result = launch("sh", "-c", script, env=headless_env(tmp_path, runtime))
    assert result.returncode == 0, result.stderr
    outer, inner = result.stdout.splitlines()
    assert outer == inner
    assert len(list(runtime.glob("session-tutorial-keychain-*"))) == 1


@pytest.mark.integration
def test_a_new_launch_removes_the_private_directories_of_finished_ones(
    tmp_path: Path, runtime: Path
) -> None:
    env = headless_env(tmp_path, runtime)
    for _ in range(3):
        assert launch("true", env=env).returncode == 0
    assert len(list(runtime.glob("session-tutorial-keychain-*"))) == 1


def test_a_missing_gnome_keyring_is_reported_with_the_command_to_install_it(
    tmp_path: Path, runtime: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dbus-run-session").symlink_to("/bin/true")
    (bin_dir / "dbus-send").symlink_to("/bin/true")
    result = launch("true", env=headless_env(tmp_path, runtime, PATH=str(bin_dir)))
    assert result.returncode == launcher.EXIT_UNAVAILABLE
    assert "gnome-keyring-daemon is not installed" in result.stderr
    assert "sudo apt-get install -y gnome-keyring dbus dbus-user-session" in result.stderr
    assert "make system-deps" in result.stderr


def test_every_missing_tool_is_named(tmp_path: Path, runtime: Path) -> None:
    result = launch("true", env=headless_env(tmp_path, runtime, PATH=str(tmp_path / "empty")))
    assert result.returncode == launcher.EXIT_UNAVAILABLE
    assert "dbus-run-session, dbus-send, gnome-keyring-daemon are not installed" in result.stderr


def test_without_a_command_the_launcher_prints_its_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "session_tutorial.launcher"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "usage: python -m session_tutorial.launcher -- CMD" in result.stderr


def test_no_session_bus_means_no_reachable_secret_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert launcher.secret_service_reachable() is False


def test_the_keyring_password_is_passed_in_the_environment_not_on_the_command_line(
    tmp_path: Path, runtime: Path
) -> None:
    env = headless_env(tmp_path, runtime)
    env.pop("XDG_DATA_HOME", None)
    argv, child_env = launcher.keychain_command(["jupyter", "lab"], env)
    password = child_env["SESSION_TUTORIAL_KEYRING_PASSWORD"]
    assert len(password) >= 32
    assert not any(password in arg for arg in argv)
    assert argv[:2] == ["dbus-run-session", "--"]
    assert argv[-2:] == ["jupyter", "lab"]
    assert "DBUS_SESSION_BUS_ADDRESS" not in child_env
    # the bus and the keyring daemon get a private HOME; the command gets its own back
    private = Path(child_env["HOME"])
    assert private.parent == runtime
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert child_env["SESSION_TUTORIAL_RESTORE_ENV"] == (
        f"export HOME={env['HOME']}; unset XDG_DATA_HOME; "
        f"export XDG_RUNTIME_DIR={env['XDG_RUNTIME_DIR']}"
    )


def test_a_runtime_dir_too_deep_for_a_socket_path_falls_back_to_a_short_one(
    tmp_path: Path, runtime: Path
) -> None:
    deep = tmp_path / ("d" * 100)
    deep.mkdir(mode=0o700)
    env = headless_env(tmp_path, runtime, XDG_RUNTIME_DIR=str(deep))
    _, child_env = launcher.keychain_command(["true"], env)
    private = Path(child_env["HOME"])
    try:
        assert len(str(private / "keyring" / "control")) <= 107
        assert private.parent != deep
    finally:
        private.rmdir()


def keyring_daemons_using(directory: Path) -> list[int]:
    """The pids of live processes whose HOME is ``directory``."""
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours
        if f"HOME={directory}".encode() in variables:
            pids.append(int(environ.parent.name))
    return pids


@pytest.mark.integration
def test_the_keyring_daemon_ends_with_the_command_even_a_quick_one(
    tmp_path: Path, runtime: Path
) -> None:
    env = headless_env(tmp_path, runtime)
    assert launch("true", env=env).returncode == 0
    (private,) = runtime.glob("session-tutorial-keychain-*")
    for pid in keyring_daemons_using(private):
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            # wait for the exit itself (it follows the bus's end), not for a fixed time
            ready, _, _ = select.select([pidfd], [], [], 10)
        finally:
            os.close(pidfd)
        assert ready, f"gnome-keyring-daemon {pid} outlived its D-Bus session"
