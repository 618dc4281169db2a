"""The suite's own notebook kernels (tests/kernels.py): Unix sockets, no debugger, and deaths
that explain."""

from __future__ import annotations

import ast
import asyncio
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
    "multiprocessing": repr((
        __import__("multiprocessing").current_process().name,
        __import__("multiprocessing").current_process().daemon,
        __import__("multiprocessing").parent_process(),
    )),
    "tenants": __import__("importlib").import_module(
        "session_tutorial.provider.background"
    ).spawn.__name__,
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
        _import_the_widgets_in_both(client, cold_client, "tests.kernel_template")
    finally:
        cold_client.stop_channels()
        cold.shutdown_kernel(now=True)
    assert _value(client, FINGERPRINT)["given"] == "given"


def _import_the_widgets_in_both(forked: Any, cold: Any, template: str) -> None:
    """The widgets, which a template holds out of its kernels' sight until they import them
    (tests/deferred_widgets.py): step by step, what each kernel sees of them."""
    for step in (
        "import session_tutorial",
        "import os; os.environ['JUPYTER_WIDGETS_ECHO'] = 'no'",  # read at import
        "import ipywidgets.widgets.widget_button",
        "from session_tutorial.widgets import LoginForm",
    ):
        for kernel in (forked, cold):
            reply = kernel.execute_interactive(step, timeout=60, store_history=False)
            assert reply["content"]["status"] == "ok", (step, reply["content"])
        assert _value(forked, WIDGETS) == _value(cold, WIDGETS), step
    seen = _value(forked, WIDGETS)
    control = ("jupyter.widget.control", "Widget.handle_control_comm_opened")
    assert control in seen["targets"] and seen["echo"] is False
    assert seen["on_package"] and "anywidget" in seen["loaded"]
    held = f"__import__('sys').modules[{template!r}]._WIDGETS"
    assert _value(forked, f"({held}.back, len({held}.groups))") == (3, 3)  # the template's


#: What a kernel sees of the widget modules and what importing them did.
WIDGETS = """(lambda sys: {
    "loaded": sorted(
        m for m in sys.modules
        if m.split(".")[0] in ("ipywidgets", "anywidget") or m.startswith("session_tutorial.w")
    ),
    "specs": sorted(
        (m, type(v.__spec__.loader).__name__, v.__spec__.origin, getattr(v, "__file__", None))
        for m, v in sys.modules.items()
        if m.split(".")[0] in ("ipywidgets", "anywidget") or m.startswith("session_tutorial.w")
    ),
    "on_package": hasattr(sys.modules.get("session_tutorial"), "widgets"),
    "ipywidgets_on_package": hasattr(sys.modules.get("ipywidgets"), "widgets"),
    "targets": sorted(
        (k, v.__qualname__) for k, v in get_ipython().kernel.comm_manager.targets.items()
    ),
    "echo": getattr(sys.modules.get("ipywidgets.widgets.widget"), "JUPYTER_WIDGETS_ECHO", None),
    "finders": [type(f).__name__ for f in sys.meta_path]
    if "session_tutorial.widgets" in sys.modules
    else None,  # until then the forked kernel's has the one that holds them
})(__import__("sys"))"""


def test_a_forked_kernel_is_interrupted_restarted_and_killed_through_jupyter_client(
    forked: tuple[SocketFileKernelManager, Any],
) -> None:
    manager, client = forked
    first = manager.provisioner.process.pid
    # Until interrupted. ipykernel takes SIGINT only while a cell runs: not yet when it has
    # announced the cell (execute_input), so the test waits for the cell's own output.
    asked = client.execute(
        "import threading; print('running', flush=True); threading.Event().wait()"
    )
    while True:
        message = client.get_iopub_msg(timeout=60)
        if message["parent_header"].get("msg_id") == asked and (
            message["msg_type"] == "stream" and "running" in message["content"]["text"]
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


def test_a_kernel_told_to_fork_its_tenants_forks_them_from_this_process_and_they_outlive_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As tests/notebooks_alone.py's kernels (the fingerprint test shows the others' stay cold).
    from session_tutorial.provider import background
    from tests import forked_tenants, forks

    monkeypatch.setattr(ForkedKernelProvisioner, "fork_tenants", True)
    manager = SocketFileKernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env=dict(os.environ))
    client = manager.client()
    client.start_channels()
    data = tmp_path / "tenant"
    start = f"background.start(__import__('pathlib').Path({str(data)!r}), port=0, quiet=True)"
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive(
            "from session_tutorial.provider import background", timeout=60, store_history=False
        )
        pid = _value(client, f"{start}.pid")
        assert _value(client, "background._CHILDREN[-1].poll()") is None  # its handle of it
        assert _value(client, "__import__('multiprocessing').active_children()") == []
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    try:
        server = forks._SERVERS[forked_tenants.TEMPLATE]._forkserver_pid
        stat = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
        assert int(stat[1]) == server and int(stat[2]) == pid  # a fork; its own session
        assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path)  # the kernel's
        running = background.answering(data)  # over HTTP, the kernel gone
        assert running is not None and running.pid == pid
    finally:
        assert background.stop(data)
    assert not _alive(pid)


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


# The browser tests' JupyterLab's kernels (tests/lab_kernels.py): jupyter_server's kernel
# manager, the spec's `python -m ipykernel_launcher` with the debugger, forked from their own
# template (tests/lab_kernel_template.py).

_LAB_STATE = """
def _lab_state():
    import os, sys
    import debugpy.common.log as log, debugpy.server.api as api
    from _pydev_bundle import pydev_log
    from _pydevd_bundle import pydevd_constants, pydevd_defaults
    import pydevd_file_utils

    def scalars(namespace):
        kinds = (bool, int, float, str, bytes, type(None), tuple, frozenset)
        return {k: repr(v) for k, v in vars(namespace).items()
                if not k.startswith("__") and isinstance(v, kinds)}

    logging = pydev_log._LoggingGlobals
    return {
        "environ": sorted(os.environ.items()),
        "pydevd_constants": scalars(pydevd_constants),
        "debug_info": scalars(pydevd_constants.DebugInfoHolder),
        "file_utils": scalars(pydevd_file_utils),
        "customization": scalars(pydevd_defaults.PydevdCustomization),
        "pydevd_log_to_kernel_stderr": logging._debug_stream is sys.stderr,
        "pydevd_log_initialized": logging._debug_stream_initialized,
        "debugpy_log_to_kernel_stderr": log.stderr.file is sys.stderr,
        "debugpy_log_levels": sorted(log.stderr.levels),
        "debugpy_logs": sorted(log._files),
        "debugpy_config": repr(api._config),
        "breakpointhook": sys.breakpointhook.__qualname__,
        "tracing": repr(sys.gettrace()),
        "debugger": type(get_ipython().kernel.debugger).__name__,
        "debugger_started": get_ipython().kernel.debugger.is_started,
        "stderr": type(sys.stderr).__name__,
        "template": "tests.lab_kernel_template" in sys.modules,
    }
"""


class _Lab:
    """A lab kernel as the test's JupyterLab starts one, and a blocking client of it."""

    def __init__(self, manager: Any, cwd: Path, env: dict[str, str]) -> None:
        from jupyter_client.blocking import BlockingKernelClient

        self.manager = manager
        asyncio.run(manager.start_kernel(cwd=str(cwd), env=env))
        self.client = BlockingKernelClient()
        self.client.load_connection_info(manager.get_connection_info())
        # No heartbeat channel (as test_binder's client): a client without a (blocking)
        # manager judges "alive" by the heartbeat alone, and a cold kernel with the debugger
        # on a loaded machine can miss a beat (1 s), which jupyter_client reports as "Kernel
        # died before replying to kernel_info" (seen once, at a load average of 6). The
        # bounded wait for kernel_info still fails if the kernel never answers.
        self.client.start_channels(hb=False)
        self.client.wait_for_ready(timeout=60)
        self.client.execute_interactive(_LAB_STATE, timeout=60, store_history=False)

    @property
    def pid(self) -> int:
        return int(self.manager.provisioner.process.pid)

    def state(self) -> dict[str, Any]:
        return dict(_value(self.client, FINGERPRINT), **_value(self.client, "_lab_state()"))

    def kernel_info(self) -> dict[str, Any]:
        self.client.kernel_info()
        content: dict[str, Any] = self.client.get_shell_msg(timeout=60)["content"]
        content["banner"] = content["banner"].split("\nTip: ")[0]  # IPython's tip: at random
        return content

    def debug_info(self) -> dict[str, Any]:
        """The debugger's answer to debugInfo (JupyterLab asks it of each kernel it shows)."""
        request = {"type": "request", "seq": 1, "command": "debugInfo", "arguments": {}}
        msg = self.client.session.msg("debug_request", request)
        self.client.control_channel.send(msg)
        reply = self.client.get_control_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
        body = json.dumps(reply["content"]["body"]).replace(str(self.pid), "PID")
        return dict(json.loads(body))

    def stop(self) -> None:
        self.client.stop_channels()
        asyncio.run(self.manager.shutdown_kernel(now=True))


def _lab_manager(cold: bool = False) -> Any:
    from tests.lab_kernels import LabSocketFileKernelManager

    class ColdLabKernelManager(LabSocketFileKernelManager):
        _async_pre_start_kernel = KernelManager._async_pre_start_kernel

    return (ColdLabKernelManager if cold else LabSocketFileKernelManager)(kernel_name="python3")


def test_a_lab_kernel_is_a_fork_with_the_debugger_as_a_cold_one_has_it(tmp_path: Path) -> None:
    from tests.lab_kernels import LabForkedKernelProvisioner

    env = {**os.environ, "FORKED_KERNEL_TEST": "given"}
    forked = _Lab(_lab_manager(), tmp_path, env)
    try:
        assert isinstance(forked.manager.provisioner, LabForkedKernelProvisioner)
        assert forked.manager.format_kernel_cmd()[1:3] == ["-m", "ipykernel_launcher"]
        cold = _Lab(_lab_manager(cold=True), tmp_path, env)
        try:
            assert not isinstance(cold.manager.provisioner, LabForkedKernelProvisioner)
            mine, theirs = forked.state(), cold.state()
            assert mine.pop("template") and not theirs.pop("template")  # warm, cold
            assert mine == theirs
            info = forked.kernel_info()
            assert "debugger" in info["supported_features"]
            assert info == cold.kernel_info()
            assert forked.debug_info() == cold.debug_info()
            _import_the_widgets_in_both(forked.client, cold.client, "tests.lab_kernel_template")
        finally:
            cold.stop()
    finally:
        forked.stop()
    assert mine["given"] == "given"
    assert ("PYDEVD_USE_FRAME_EVAL", "NO") in mine["environ"]  # as debugpy's import set it
    assert mine["pydevd_log_to_kernel_stderr"] and mine["debugpy_log_to_kernel_stderr"]


def test_a_lab_kernel_whose_environment_changes_what_pydevd_reads_starts_cold(
    tmp_path: Path,
) -> None:
    # pydevd read this at the template's import: a fork would keep the template's value.
    env = {**os.environ, "PYDEVD_WARN_EVALUATION_TIMEOUT": "7"}
    kernel = _Lab(_lab_manager(), tmp_path, env)
    try:
        assert _value(kernel.client, "__import__('os').getpid()") == kernel.pid  # execve'd
        state = kernel.state()
        assert not state["template"]
        assert state["pydevd_constants"]["PYDEVD_WARN_EVALUATION_TIMEOUT"] == "7.0"
    finally:
        kernel.stop()
