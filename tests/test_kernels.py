"""The suite's own notebook kernels (tests/kernels.py): Unix sockets, no debugger, and deaths
that explain."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbval.kernel
import pytest

from tests.kernels import TRANSPORT, WITHOUT_DEBUGGER, SocketFileKernelManager, use_for_nbval


def test_nbval_in_this_suite_starts_its_kernels_on_unix_sockets() -> None:
    use_for_nbval()  # conftest.py did already; a second call changes nothing
    assert nbval.kernel.KernelManager is SocketFileKernelManager
    assert nbval.kernel.start_new_kernel.__wrapped__.__module__ == "nbval.kernel"


def test_the_suite_starts_ipykernel_with_debugpy_unimportable() -> None:
    cmd = SocketFileKernelManager(kernel_name="python3").format_kernel_cmd()
    assert cmd[1:3] == ["-c", WITHOUT_DEBUGGER] and cmd[3] == "-f"
    assert "sys.modules['debugpy'] = None" in WITHOUT_DEBUGGER
    assert "run_module('ipykernel_launcher', run_name='__main__'" in WITHOUT_DEBUGGER


@pytest.mark.skipif(TRANSPORT != "ipc", reason="ZeroMQ here has no IPC transport")
def test_each_kernel_gets_its_own_absolute_socket_prefix_in_the_private_runtime_dir() -> None:
    from jupyter_core.paths import jupyter_runtime_dir

    first, second = SocketFileKernelManager(), SocketFileKernelManager()
    assert first.transport == "ipc"
    assert os.path.isabs(first.ip) and first.ip != second.ip
    assert Path(first.ip).parent == Path(jupyter_runtime_dir())
    assert Path(first.ip).parent.stat().st_mode & 0o077 == 0
    # Unix socket paths are at most 107 bytes here; the kernel appends "-<n>".
    assert len(os.fsencode(first.ip)) + 3 <= 107


def test_a_kernel_that_dies_at_start_says_what_it_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real process that exits at once, as a kernel that could not bind its ports does.
    spec = tmp_path / "kernels" / "dies-at-start"
    spec.mkdir(parents=True)
    said = "zmq.error.ZMQError: Address already in use"
    crash = f"import sys; sys.stderr.write({said!r}); sys.exit(1)"
    argv = [sys.executable, "-c", crash, "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "dies"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    with pytest.raises(RuntimeError) as failure:
        nbval.kernel.RunningKernel("dies-at-start", cwd=str(tmp_path), startup_timeout=30)
    assert "Kernel died before replying to kernel_info" in str(failure.value)
    assert f"stderr ended with:\n{said}" in str(failure.value)
