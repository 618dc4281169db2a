"""One renewal at a time for one stored session, across threads and across processes.

Under refresh-token rotation, two renewals that race both send the same refresh token: the
second one is "reuse" and Auth0 revokes the whole token family, signing the user out. So every
renewal of one keychain entry runs inside :class:`SingleFlight`, and reads the entry again
once inside, because the renewal it waited for may already have rotated the token.

What it coordinates: threads in this process (a ``threading.Lock`` shared by every
``SingleFlight`` with the same key) and processes on this machine that use this package with
the same key (a ``filelock`` lock file under the user's cache directory).

What it does not coordinate: other machines, other apps holding the same refresh token, or
anything that writes the keychain entry without taking the lock (keyring itself has no
locking, keyring #456). The lock file only serialises; it never holds a token.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from session_tutorial.errors import StoreError

LOCK_TIMEOUT = 60.0  # long enough for a refresh over a slow network plus a keychain prompt

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def default_lock_dir() -> Path:
    """Where lock files live: ``<user cache dir>/session-tutorial/locks``."""
    # The cache dir rather than the runtime dir: platformdirs warns and guesses when
    # XDG_RUNTIME_DIR is unset (containers, CI), and a lock file is tiny and harmless to keep.
    import platformdirs  # here: a SessionManager given its lock_dir never loads it

    return Path(platformdirs.user_cache_dir("session-tutorial", appauthor=False)) / "locks"


class SingleFlight:
    """A lock held around one renewal: threads first, then the lock file for other processes.

    >>> flight = SingleFlight("session-tutorial/127.0.0.1:8941/tutorial-app")  # doctest: +SKIP
    >>> with flight:  # doctest: +SKIP
    ...     stored = store.load()  # read again: another renewal may have just finished

    Raises ``StoreError`` when another process holds the lock for longer than ``timeout`` s.
    """

    def __init__(
        self, key: str, *, lock_dir: Path | None = None, timeout: float = LOCK_TIMEOUT
    ) -> None:
        self.key = key
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        self.path = (lock_dir or default_lock_dir()) / f"{digest}.lock"
        self.timeout = timeout
        with _thread_locks_guard:
            self._thread_lock = _thread_locks.setdefault(key, threading.Lock())

    def __enter__(self) -> SingleFlight:
        # The thread lock first, so threads queue without polling the file; only the holder
        # touches the lock file. A fresh FileLock per entry keeps this thread-safe.
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise self._busy("another thread")
        # Imported at the first renewal, not with the session manager (about 15 ms of CPU): a
        # process that only reads its session (whoami.py, `python -m session_tutorial status`)
        # never takes the lock.
        import filelock

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file_lock = filelock.FileLock(str(self.path), timeout=self.timeout)
            self._file_lock.acquire()
        except filelock.Timeout as exc:
            self._thread_lock.release()
            raise self._busy("another process") from exc
        except OSError as exc:
            self._thread_lock.release()
            raise StoreError(
                f"Cannot create the renewal lock file {self.path}: {exc}. Make that directory "
                "writable, or pass lock_dir= to SessionManager."
            ) from exc
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._file_lock.release()
        finally:
            self._thread_lock.release()

    def _busy(self, holder: str) -> StoreError:
        return StoreError(
            f"{holder.capitalize()} has been renewing this session for over {self.timeout:g} s "
            f"(lock file {self.path}). Try again; if no other program using session_tutorial "
            "is running, delete that file."
        )
