"""The tenant's state in SQLite: users, tokens, codes, browser sessions, its clock.

One connection guarded by a lock: the tenant is one process, and every write is short.
Tokens, codes and session cookies are stored as SHA-256 hashes, never in the clear.

The file is in WAL mode with ``synchronous=NORMAL``: a commit is written to the WAL before
``COMMIT`` returns (a crash of the process loses nothing committed), and the WAL is synced to
disk when its pages are copied back into the database (a *checkpoint*). SQLite would checkpoint
inside the ``COMMIT`` that fills the WAL, and that commit then waits for two ``fsync`` calls:
tens of milliseconds on a busy disk, with the tenant's event loop stopped and every request
waiting. So checkpoints run in a thread of their own (:class:`_Checkpointer`, with its own
connection, started at the first :data:`CHECKPOINT_EVERY` commits); they copy what the WAL
holds without blocking the writer, and the serving connection checkpoints itself only if the
thread falls far behind (``wal_autocheckpoint`` at :data:`BACKSTOP_PAGES`).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("session_tutorial.provider")

CHECKPOINT_EVERY = 100  # commits between two checkpoints in the checkpoint thread
BACKSTOP_PAGES = 20_000  # WAL pages (80 MB) after which a commit checkpoints by itself

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    password_hash TEXT NOT NULL, created_at REAL NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS families (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, scope TEXT NOT NULL,
    audience TEXT, created_at REAL NOT NULL, revoked_at REAL, revoked_reason TEXT
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY, family_id TEXT NOT NULL REFERENCES families(id),
    created_at REAL NOT NULL, rotated_at REAL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family_id);
CREATE TABLE IF NOT EXISTS device_codes (
    hash TEXT PRIMARY KEY, user_code TEXT UNIQUE NOT NULL, client_id TEXT NOT NULL,
    scope TEXT NOT NULL, audience TEXT, expires_at REAL NOT NULL, interval INTEGER NOT NULL,
    last_poll REAL, status TEXT NOT NULL DEFAULT 'pending', user_id TEXT
);
CREATE TABLE IF NOT EXISTS authorization_codes (
    hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, audience TEXT, nonce TEXT,
    code_challenge TEXT NOT NULL, auth_time REAL NOT NULL, expires_at REAL NOT NULL,
    used_at REAL, family_id TEXT
);
CREATE TABLE IF NOT EXISTS browser_sessions (
    hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, auth_time REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    user_id TEXT NOT NULL, source TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, source)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def token_hash(token: str) -> str:
    """The form in which refresh tokens and device codes are stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


class _Checkpointer(threading.Thread):
    """Copies the WAL back into the database when asked (``PRAGMA wal_checkpoint(PASSIVE)``).

    Passive: it never waits for the writer, and the writer never waits for it; the ``fsync``
    calls happen here, with the GIL released.
    """

    def __init__(self, path: str) -> None:
        super().__init__(name="session-tutorial-checkpoint", daemon=True)
        self._path = path
        self._wanted = threading.Event()
        self._stopping = False

    def request(self) -> None:
        self._wanted.set()

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        self.join(timeout=30)

    def run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # the next request, or the backstop, tries again
                    log.warning("a WAL checkpoint failed: %s", type(exc).__name__)
        finally:
            conn.close()


class Database:
    """The tenant's SQLite file, with a transaction helper for read-modify-write steps."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0  # transactions open in the thread holding the lock
        self._commits = 0
        self._checkpointer: _Checkpointer | None = None
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(
        self, *, commit_despite: tuple[type[BaseException], ...] = ()
    ) -> Iterator[sqlite3.Connection]:
        """Run the block atomically; nothing else touches the database meanwhile.

        A block inside another transaction of the same thread joins it: one commit for both.
        An exception rolls everything back, except one of ``commit_despite``: such an error is
        an answer, whose changes stand (a refresh-token family revoked for reuse).
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except commit_despite:
                self._commit()
                raise
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            self._commit()

    def _commit(self) -> None:
        self._conn.execute("COMMIT")
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(str(self.path))
                self._checkpointer.start()
            self._checkpointer.request()

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def setting(self, key: str, default: str | None = None) -> str | None:
        row = self.one("SELECT value FROM settings WHERE key = ?", key)
        return row["value"] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._conn.close()
