"""The tenant's state in SQLite: users, tokens, codes, browser sessions, its clock.

One connection guarded by a lock: the tenant is one process, and every write is short.
Tokens, codes and session cookies are stored as SHA-256 hashes, never in the clear.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class Database:
    """The tenant's SQLite file, with a transaction helper for read-modify-write steps."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block atomically; nothing else touches the database meanwhile."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

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
        with self._lock:
            self._conn.close()
