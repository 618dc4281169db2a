"""The tenant's data folder and secret files: private to their owner, written atomically.

A key file (admin key, signing key, refresh secret) is written to a private temporary file in
the same folder, flushed, and then linked into place: a reader sees no file or the whole file,
never half of one, and two processes creating the same key at once agree on one (the second
link fails; it reads the first). Files are created mode 0600.

On every start, :func:`secure_data_dir` requires the folder and its key and database files to
belong to the current user with no access for group or others: a mode that is only too open
(a folder made earlier with ``mkdir -p``) is fixed, with a warning; a folder or file owned by
someone else (who could have planted a signing key) is refused with :class:`TenantFilesError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger("session_tutorial.provider")

# The files that hold secrets or the users' hashes; the rest of the folder (log, port, clock)
# is protected by the folder's own mode.
PRIVATE_FILES = (
    "admin.key",
    "signing-key.pem",
    "refresh-secret.key",
    "tenant.sqlite3",
    "tenant.sqlite3-wal",
    "tenant.sqlite3-shm",
)


#: Locked by the running tenant's process for as long as it runs (:func:`hold_tenant_lock`).
TENANT_LOCK = "tenant.lock"


class TenantFilesError(RuntimeError):
    """The tenant's data folder or one of its files is not safely the current user's."""


def _private(path: Path, mode: int) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    me = os.geteuid()
    if st.st_uid != me:
        raise TenantFilesError(
            f"{path} belongs to another user (uid {st.st_uid}; you are uid {me}): the local "
            "tenant will not trust it, since its keys and users could be someone else's. Use "
            "a data folder of your own (--data-dir or SESSION_TUTORIAL_TENANT_DIR), or remove "
            "this one and start again."
        )
    kind = stat.S_ISDIR(st.st_mode) if mode == 0o700 else stat.S_ISREG(st.st_mode)
    if not kind:
        raise TenantFilesError(
            f"{path} is not a {'folder' if mode == 0o700 else 'regular file'}: remove it and "
            "start the tenant again."
        )
    if st.st_mode & 0o077:
        os.chmod(path, mode)
        log.warning(
            "%s was readable by other users (mode %o): made it private (%o)",
            path,
            stat.S_IMODE(st.st_mode),
            mode,
        )


def touch_private(path: Path) -> None:
    """Create ``path`` empty and mode 0600 unless it exists (an empty file is an empty SQLite
    database; SQLite gives its journal files the database file's mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def secure_data_dir(data_dir: Path) -> None:
    """Make ``data_dir`` and its private files the owner's only; refuse another owner's."""
    if not hasattr(os, "geteuid"):
        return  # Windows: no POSIX owner and mode bits; the user's profile folder is private
    _private(data_dir, 0o700)
    for name in PRIVATE_FILES:
        _private(data_dir / name, 0o600)


def hold_tenant_lock(data_dir: Path) -> IO[bytes] | None:
    """Lock ``data_dir`` for this process's tenant, as long as the file stays open; None when
    another process holds it (a tenant runs for this folder already).

    The system's lock (flock, or a Windows byte-range lock) goes with the process however it
    ends, so it tells whether a tenant process lives: no pid that may have been reused, and no
    readiness check that a tenant busy on a loaded machine can miss.
    """
    handle = open(data_dir / TENANT_LOCK, "a+b")  # noqa: SIM115 - kept open: it is the lock
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def tenant_lock_held(data_dir: Path) -> bool:
    """Whether a tenant process runs for ``data_dir`` now (it holds the folder's lock)."""
    if not (data_dir / TENANT_LOCK).exists():
        return False  # no tenant ever ran here (the folder may not even exist): none runs
    handle = hold_tenant_lock(data_dir)
    if handle is None:
        return True
    handle.close()  # released with it
    return False


def write_new(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` (mode 0600) unless it exists; False if it existed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp makes it 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def replace(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp + rename, mode 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_or_create(
    path: Path, make: Callable[[], bytes], valid: Callable[[bytes], bool] = bool
) -> bytes:
    """The bytes of ``path``; made with ``make()`` if missing, remade if not ``valid``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = make()
        if write_new(path, data):
            return data
        data = path.read_bytes()  # another process made it first: use theirs
    if valid(data):
        return data
    log.warning("%s was empty or too short to be a secret: made a new one", path)
    data = make()
    replace(path, data)
    return data


ADMIN_KEY_MIN = 24  # characters: a shorter, blank or empty admin.key is replaced


def admin_key(data_dir: Path) -> str:
    """The tenant's admin key for teaching controls, made on first use (mode 0600).

    An empty, short or blank ``admin.key`` would let the teaching controls run with no real
    key: it is replaced by a new one, with a warning. The folder must be the user's own
    (:func:`secure_data_dir`).
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secure_data_dir(data_dir)

    def sound(data: bytes) -> bool:
        key = data.decode("utf-8", "replace").strip()
        return len(key) >= ADMIN_KEY_MIN and not any(c.isspace() for c in key)

    key = read_or_create(data_dir / "admin.key", lambda: secrets.token_urlsafe(24).encode(), sound)
    return key.decode().strip()
