"""The suite's own notebook kernels (tests/kernels.py): Unix sockets, no debugger, and deaths
that explain."""

from __future__ import annotations

import ast
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbval.kernel
import pytest
from jupyter_client.manager import KernelManager

from tests.forked_kernels import ForkedKernelProvisioner
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


@pytest.fixture
def forked(tmp_path: Path) -> Iterator[tuple[SocketFileKernelManager, Any]]:
    manager = SocketFileKernelManager(kernel_name="python3")
    env = {**os.environ, "FORKED_KERNEL_TEST": "given"}
    manager.start_kernel(cwd=str(tmp_path), env=env)
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _value(client: Any, expression: str) -> Any:
    reply = client.execute_interactive(
        "", timeout=60, user_expressions={"v": expression}, store_history=False
    )
    result = reply["content"]["user_expressions"]["v"]
    assert result["status"] == "ok", result
    return ast.literal_eval(result["data"]["text/plain"])


class ColdKernelManager(SocketFileKernelManager):
    """The suite's kernels as they started before: jupyter_client's own provisioner (Popen)."""

    _async_pre_start_kernel = KernelManager._async_pre_start_kernel


FINGERPRINT = """{
    "cwd": __import__("os").getcwd(),
    "given": __import__("os").environ.get("FORKED_KERNEL_TEST"),
    "path": __import__("sys").path,
    "argv0": __import__("os").path.basename(__import__("sys").argv[0]),
    "flags": repr(__import__("sys").flags),
    "warnoptions": __import__("sys").warnoptions,
    "debugpy": repr(__import__("sys").modules.get("debugpy", "absent")),
    "own_group": __import__("os").getpgid(0) == __import__("os").getpid(),
    "watches_parent": get_ipython().kernel.parent.parent_handle == __import__("os").getppid(),
    "sigint": repr(__import__("signal").getsignal(__import__("signal").SIGINT)),
    "sigterm": repr(__import__("signal").getsignal(__import__("signal").SIGTERM)),
    "main": __import__("sys").modules["__main__"].__name__,
    "umask": __import__("os").umask(0o022),
}"""


def test_a_suite_kernel_is_a_fork_of_the_template_and_starts_as_a_cold_one_would(
    forked: tuple[SocketFileKernelManager, Any], tmp_path: Path
) -> None:
    manager, client = forked
    pid = manager.provisioner.process.pid
    assert isinstance(manager.provisioner, ForkedKernelProvisioner)
    assert _value(client, "__import__('os').getpid()") == pid
    assert _value(client, "'tests.kernel_template' in __import__('sys').modules")  # warm
    assert _value(client, "__import__('os').getppid()") != os.getpid()  # the fork server's
    # The same kernel started cold, as before (jupyter_client's own provisioner, Popen).
    cold = ColdKernelManager(kernel_name="python3")
    cold.start_kernel(cwd=str(tmp_path), env={**os.environ, "FORKED_KERNEL_TEST": "given"})
    cold_client = cold.client()
    cold_client.start_channels()
    try:
        cold_client.wait_for_ready(timeout=60)
        assert not _value(cold_client, "'tests.kernel_template' in __import__('sys').modules")
        assert _value(client, FINGERPRINT) == _value(cold_client, FINGERPRINT)
    finally:
        cold_client.stop_channels()
        cold.shutdown_kernel(now=True)
    assert _value(client, FINGERPRINT)["given"] == "given"


def test_a_forked_kernel_is_interrupted_restarted_and_killed_through_jupyter_client(
    forked: tuple[SocketFileKernelManager, Any],
) -> None:
    manager, client = forked
    first = manager.provisioner.process.pid
    asked = client.execute("import threading; threading.Event().wait()")  # until interrupted
    while True:  # the cell runs (ipykernel takes SIGINT only while a cell runs)
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") == asked and (
            message["msg_type"] == "execute_input"
        ):
            break
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=60)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    manager.restart_kernel(now=True)
    client.wait_for_ready(timeout=60)
    second = manager.provisioner.process.pid
    assert second != first and not _alive(first)
    assert _value(client, "__import__('os').getpid()") == second
    manager.shutdown_kernel(now=True)
    assert not manager.is_alive() and not _alive(second)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}/stat").exists()
        and Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    )


def test_a_forked_kernel_that_dies_at_start_says_what_it_printed(tmp_path: Path) -> None:
    # A real fork that exits at once: ipykernel refuses a flag it does not know. Its stderr
    # reached the file nbval's start was given (sent to the fork server with the request).
    with pytest.raises(RuntimeError) as failure:
        nbval.kernel.start_new_kernel(
            startup_timeout=30,
            kernel_name="python3",
            stderr=open(os.devnull, "w"),  # noqa: SIM115 - nbval's own call, which closes it
            cwd=str(tmp_path),
            extra_arguments=["--no-such-flag"],
        )
    assert "Kernel died before replying to kernel_info" in str(failure.value)
    assert "no-such-flag" in str(failure.value).split("stderr ended with:", 1)[1]


def test_only_this_user_can_ask_the_kernels_fork_server_for_a_process(
    forked: tuple[SocketFileKernelManager, Any],
) -> None:
    # Whoever connects to a fork server's socket can have it run code as this user: the socket
    # is this user's alone (multiprocessing makes it 0600 in a private 0700 temp dir).
    from tests import forked_kernels, forks

    name = forks._SERVERS[forked_kernels.TEMPLATE]._forkserver_address
    if name.startswith("\0"):
        pytest.skip("an abstract socket (newer Pythons): no file to check")
    address = Path(name)
    assert address.stat().st_mode & 0o077 == 0
    assert address.parent.stat().st_mode & 0o077 == 0
    assert address.stat().st_uid == os.getuid()
