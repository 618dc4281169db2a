"""The tenant's listening socket, bound before the server is even loaded.

Port 0 takes a free port as the socket binds it, so no other process can take it between the
choice and the bind; a port in use is refused at once, before uvicorn and the app are imported.
"""

from __future__ import annotations

import socket


def listen(host: str, port: int) -> socket.socket:
    """The tenant's listening socket on ``host:port``; port 0 takes any free port.

    With port 0 the system picks the port as it binds, so no other process can take it in
    between (as it could a port chosen first and bound later, by a process starting up).
    """
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
    # the listening socket says it is TCP. Without it, keep-alive clients wait 40 ms for
    # every response (Nagle's algorithm meeting delayed ACKs).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock
