"""Serving the tenant with uvicorn, in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
import time
from pathlib import Path

import uvicorn

from . import keyfiles
from .app import create_app
from .config import STATE_FILE, TenantConfig
from .connections import MAX_HEAD, with_request_deadline


def issuer_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    return f"http://{shown}:{port}/"


def serve(config: TenantConfig, host: str, sock: socket.socket, *, record: bool = True) -> None:
    """Run the tenant on ``sock`` (:func:`.listening.listen`'s, on ``host``) until
    interrupted; note pid, URL and port in the data dir."""
    port = sock.getsockname()[1]
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyfiles.secure_data_dir(config.data_dir)  # before creating a file in it
    # One tenant per data folder, and background.start() can tell that it runs even while it
    # is too busy to answer: the lock is held until this process ends.
    lock = keyfiles.hold_tenant_lock(config.data_dir)
    if lock is None:
        raise keyfiles.TenantFilesError(
            f"A tenant already runs for {config.data_dir}: stop it first "
            "(`python -m session_tutorial.provider stop`), or give this one another --data-dir."
        )
    # Printed once the port is bound: from here on, connections queue until uvicorn serves.
    print(
        f"Local tenant at {config.issuer} (data in {config.data_dir}); Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
    state = config.data_dir / STATE_FILE
    app = create_app(
        config,
        on_shutdown=(lambda: _remove_state_if_ours(state)) if record else None,
        signing_helper="auto",
    )
    if record:
        _write_state(
            state,
            {
                "pid": os.getpid(),
                "url": config.issuer.rstrip("/"),
                "host": host,
                "port": port,
                "teaching": config.teaching,
                "started_at": time.time(),
                # What a client cannot learn from Auth0's API, published for this machine's
                # clients (Tenant.local()): how long an unused session lasts.
                "refresh_token_idle_lifetime": config.refresh_token_idle_lifetime,
                "refresh_token_lifetime": config.refresh_token_lifetime,
            },
        )
    server_config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        # Connection hygiene for a room (see connections.py): idle keep-alive connections
        # close after 5 s, a request line and headers at most 16 KiB (connections.py with
        # httptools; this setting with uvicorn's h11), beyond max_connections a 503.
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=MAX_HEAD,
        limit_concurrency=config.max_connections,
        # The peer's address is the source that brute-force protection counts: uvicorn would
        # otherwise take X-Forwarded-For from any client on 127.0.0.1 (forwarded_allow_ips).
        proxy_headers=False,
    )
    server_config.load()
    server_config.http_protocol_class = with_request_deadline(
        server_config.http_protocol_class, config.request_timeout
    )
    server = uvicorn.Server(server_config)
    # What exists now (modules, the app, its key) lives as long as the process: frozen, the
    # cyclic garbage collector no longer walks it in every full collection under load. The
    # command line starts the server with the collector off (nothing to collect while loading
    # it): on from here, for the requests' garbage.
    gc.freeze()
    gc.enable()
    # uvicorn re-raises SIGINT/SIGTERM once it has shut down, so the state file is removed
    # in the app's lifespan shutdown, not after run() returns.
    server.run(sockets=[sock])
    lock.close()


def _write_state(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _remove_state_if_ours(path: Path) -> None:
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
