"""Run a command with a usable keychain: ``python -m session_tutorial.launcher -- CMD ARGS...``.

Why this exists: ``keyring`` keeps tokens in the operating system's keychain. macOS and Windows
always have one, and so does a Linux desktop (GNOME Keyring or KWallet, reached over D-Bus as
the *Secret Service*). A Linux server, a container, CI or Binder has no Secret Service, so
keyring falls back to ``fail.Keyring`` and every call raises; worse, merely installing
``keyrings.alt`` would make it write tokens to a plaintext file without a word.

So on Linux, when no Secret Service answers on the session bus, this launcher starts a private
one for the command: ``dbus-run-session`` gives it its own D-Bus session, and
``gnome-keyring-daemon --unlock`` starts a fresh keyring there, unlocked with a random password
that nobody keeps. The keyring's files live in a private 0700 directory, never in the user's
real ``~/.local/share/keyrings``, and what is stored there is unreadable once the command exits:
every process started under one launcher (a Jupyter server and its kernels, a test run) shares
it, but the next launcher starts empty. Elsewhere, or when a Secret Service already answers, the
launcher simply runs the command.

Example::

    python -m session_tutorial.launcher -- jupyter lab
    python -m session_tutorial.launcher -- python -m pytest

If ``dbus-run-session``, ``dbus-send`` or ``gnome-keyring-daemon`` is missing it exits with
status 69 and says what to install (``make system-deps``).
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

#: Set by the launcher to name the private keychain it started (read by the store). Defined
#: here, where it is set: the launcher then loads neither the store nor keyring (about 0.1 s
#: of CPU), and the package imports its modules on first use, so ``python -m`` does not find
#: this module imported already (runpy would warn).
KEYCHAIN_ENV: Final = "SESSION_TUTORIAL_KEYCHAIN"

#: The value of ``KEYCHAIN_ENV`` in the command's environment when it runs on the launcher's
#: private keyring, so that ``CredentialStore.backend_name`` can say so.
PRIVATE_KEYCHAIN = "private gnome-keyring started by session_tutorial.launcher"

#: sysexits.h EX_UNAVAILABLE: a service the command needs cannot be provided.
EXIT_UNAVAILABLE = 69
INSTALL_HINT = (
    "install them with `sudo apt-get install -y gnome-keyring dbus dbus-user-session` "
    "(or run `make system-deps`)"
)

_DIR_PREFIX = "session-tutorial-keychain-"
_PASSWORD_ENV = "SESSION_TUTORIAL_KEYRING_PASSWORD"
_RESTORE_ENV = "SESSION_TUTORIAL_RESTORE_ENV"
_PRIVATE_VARS = ("HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")
_SECRET_SERVICE = "org.freedesktop.secrets"
_BACKEND = "keyring.backends.SecretService.Keyring"
_TOOLS = ("dbus-run-session", "dbus-send", "gnome-keyring-daemon")
# A Unix socket path holds at most 107 bytes; gnome-keyring puts one at <dir>/keyring/control.
_MAX_SOCKET_PATH = 107

# Runs inside dbus-run-session, whose bus (and so every service it starts on demand) has the
# private directory as HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR: the keyring files stay out of
# the user's real keyrings, and no desktop gnome-keyring's control socket is found and asked to
# unlock. The password comes through the environment (never argv, which `ps` shows) and is
# unset at once. With no login keyring yet, `--unlock` creates one, unlocked, with it.
# `--unlock` returns before the daemon owns its bus name, so the script waits for it, asking the
# bus (NameHasOwner never starts a service): otherwise a quick command could have a second,
# empty daemon started on demand, and a daemon not yet on the bus outlives the session.
# Then the command gets the user's own HOME and XDG directories back.
_SCRIPT = """\
pw=$SESSION_TUTORIAL_KEYRING_PASSWORD
unset SESSION_TUTORIAL_KEYRING_PASSWORD GNOME_KEYRING_CONTROL
printf '%s' "$pw" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
pw=
tries=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
    grep -q 'boolean true'; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then
    echo "session_tutorial.launcher: gnome-keyring-daemon did not start a Secret Service" >&2
    exit 69
  fi
  sleep 0.05
done
eval "$SESSION_TUTORIAL_RESTORE_ENV"
unset SESSION_TUTORIAL_RESTORE_ENV
exec "$@"
"""


def secret_service_reachable(timeout: float = 10.0) -> bool:
    """Whether a Secret Service answers on the session bus and has a default collection.

    Asks ``org.freedesktop.secrets`` for its ``default`` alias, as keyring will: a service that
    is merely activatable but has no login keyring (a headless machine with gnome-keyring
    installed) would fail at the first ``set_password``, so it does not count.

    ``timeout`` is long because an answer that is late is still an answer: a Secret Service
    busy on a loaded machine (or being started on demand) that missed a short limit was
    taken for none, and the command got a private, empty keychain in its place, where its
    entries went unseen by every other process on the bus (a JupyterLab started so saves its
    kernels' sign-ins where the rest of the desktop, or the test run, never looks). Where no
    Secret Service is, the answer comes at once: no bus, no owner, or no default collection.
    """
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False  # keyring's D-Bus library (jeepney) has no other way to find the bus
    try:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg
    except ImportError:
        return False
    service = DBusAddress(
        "/org/freedesktop/secrets",
        bus_name=_SECRET_SERVICE,
        interface="org.freedesktop.Secret.Service",
    )
    try:
        with open_dbus_connection(bus="SESSION", auth_timeout=timeout) as connection:
            reply = connection.send_and_get_reply(
                new_method_call(service, "ReadAlias", "s", ("default",)), timeout=timeout
            )
            (collection,) = unwrap_msg(reply)
    except Exception:  # any failure to get an answer means "not reachable"
        return False
    return bool(collection != "/")


def _sweep_stale_dirs(parent: Path) -> None:
    """Remove private keyring directories left by launchers that have exited.

    The launcher execs, so nothing is left to clean up after the command; instead each
    directory carries the pid of the ``dbus-run-session`` that uses it, and the next launch
    removes those whose process is gone.
    """
    for path in parent.glob(f"{_DIR_PREFIX}*"):
        pid = path.name[len(_DIR_PREFIX) :].split("-", 1)[0]
        try:
            if path.stat().st_uid != os.getuid() or not pid.isdigit():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue  # not ours to judge (EPERM: someone else's process is alive)


def _private_dir(env: Mapping[str, str]) -> Path:
    room = _MAX_SOCKET_PATH - len(f"/{_DIR_PREFIX}{os.getpid()}-12345678/keyring/control")
    runtime = env.get("XDG_RUNTIME_DIR")
    candidates = [runtime] if runtime and os.access(runtime, os.W_OK) else []
    candidates += [tempfile.gettempdir(), "/tmp"]  # noqa: S108 - the short fallback
    parent = Path(next(path for path in candidates if len(path) <= room))
    _sweep_stale_dirs(parent)
    # mkdtemp creates the directory 0700. After exec, this process's pid is dbus-run-session's.
    return Path(tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{os.getpid()}-", dir=parent))


def keychain_command(
    command: Sequence[str], environ: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Return the argv and environment that run ``command`` with a private Secret Service.

    Creates the private directory. Raises :class:`FileNotFoundError` naming what to install
    when ``dbus-run-session``, ``dbus-send`` or ``gnome-keyring-daemon`` is missing.
    """
    env = dict(os.environ if environ is None else environ)
    missing = [tool for tool in _TOOLS if shutil.which(tool, path=env.get("PATH")) is None]
    if missing:
        raise FileNotFoundError(
            f"no Secret Service is reachable and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed; {INSTALL_HINT}"
        )
    private = _private_dir(env)
    env[_RESTORE_ENV] = "; ".join(
        f"export {name}={shlex.quote(env[name])}" if name in env else f"unset {name}"
        for name in _PRIVATE_VARS
    )
    env.update(HOME=str(private), XDG_DATA_HOME=str(private / "data"))
    env.update(XDG_RUNTIME_DIR=str(private), PYTHON_KEYRING_BACKEND=_BACKEND)
    env[_PASSWORD_ENV] = secrets.token_urlsafe(32)
    env[KEYCHAIN_ENV] = PRIVATE_KEYCHAIN
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return ["dbus-run-session", "--", "sh", "-c", _SCRIPT, "sh", *command], env


def main(argv: Sequence[str] | None = None) -> int:
    """Exec the command with a usable keychain; return an exit status only on failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.split("\n\n", 1)[0], file=sys.stderr)
        print("usage: python -m session_tutorial.launcher -- CMD [ARGS...]", file=sys.stderr)
        return 0 if args else 2
    env: Mapping[str, str] = os.environ
    if sys.platform.startswith("linux") and not secret_service_reachable():
        try:
            args, env = keychain_command(args)
        except FileNotFoundError as exc:
            print(f"session_tutorial.launcher: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(args[0], args, env)  # noqa: S606 - running the user's command is the point
    except OSError as exc:
        print(f"session_tutorial.launcher: cannot run {args[0]!r}: {exc}", file=sys.stderr)
        return 127
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
