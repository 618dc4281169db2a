"""The tenant's SQLite file: transactions that join, errors that still commit, checkpoints aside.

In-process, on a real SQLite file: the database is the point, no server needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from session_tutorial.provider import storage
from session_tutorial.provider.storage import Database


class Answer(Exception):
    """An error that is an answer (as InvalidGrant for a revoked family): its changes stand."""


def _set(db: Database, key: str, value: str) -> None:
    with db.transaction() as c:
        c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (key, value))


def test_a_transaction_inside_another_joins_it_and_fails_with_it(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.sqlite3")
    try:
        with pytest.raises(RuntimeError), db.transaction():
            _set(db, "inner", "1")  # committed only with the outer one
            _set(db, "second", "2")
            raise RuntimeError("after both")
        assert db.setting("inner") is None and db.setting("second") is None
        with db.transaction():
            _set(db, "inner", "1")
        assert db.setting("inner") == "1"
    finally:
        db.close()


def test_an_error_named_in_commit_despite_keeps_the_changes_and_is_still_raised(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "t.sqlite3")
    try:
        with pytest.raises(Answer), db.transaction(commit_despite=(Answer,)):
            _set(db, "revoked", "yes")
            raise Answer()
        assert db.setting("revoked") == "yes"
        with pytest.raises(RuntimeError), db.transaction(commit_despite=(Answer,)):
            _set(db, "other", "no")
            raise RuntimeError()  # any other error rolls back
        assert db.setting("other") is None
    finally:
        db.close()


def test_checkpoints_run_in_a_thread_of_their_own_which_stops_with_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "CHECKPOINT_EVERY", 3)
    db = Database(tmp_path / "t.sqlite3")
    # The serving connection checkpoints by itself only far beyond SQLite's 1,000 pages.
    assert db.one("PRAGMA wal_autocheckpoint")[0] == storage.BACKSTOP_PAGES  # type: ignore[index]
    for n in range(2):
        _set(db, "n", str(n))
    assert db._checkpointer is None  # a learner's few commits start no thread
    _set(db, "n", "3")
    checkpointer = db._checkpointer
    assert checkpointer is not None and checkpointer.is_alive()
    db.close()
    assert not checkpointer.is_alive()
    reopened = Database(tmp_path / "t.sqlite3")
    try:
        assert reopened.setting("n") == "3"  # nothing committed is lost
    finally:
        reopened.close()
