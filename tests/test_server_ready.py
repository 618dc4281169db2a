"""tests/server_ready.py's read_until: a line that arrives with the one before it is seen."""

from __future__ import annotations

import io
import subprocess
import sys

from server_ready import drained, read_until


def test_a_line_read_together_with_the_one_before_it_is_found_and_the_rest_drained() -> None:
    # Both lines reach the pipe at once, then the process waits: reading the first line also
    # takes the second into Python's buffer, where select() on the pipe cannot see it (the
    # browser and Binder tests once waited out their whole timeout so, with the address read).
    code = "import sys; print('starting\\nis running at here', flush=True); sys.stdin.read()"
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        lines: list[str] = []
        try:
            assert read_until(proc.stdout, lines, "is running at", 60) == "is running at here\n"
            assert lines == ["starting\n", "is running at here\n"]
        finally:
            proc.stdin.close()  # the process ends, and with it the stream
            proc.wait(timeout=60)
            drained(proc.stdout, 60)
    assert read_until(io.StringIO(""), [], "anything", 60) is None  # a stream at its end
