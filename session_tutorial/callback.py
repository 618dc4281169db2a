"""A one-shot loopback receiver for the browser's redirect back to the app (RFC 8252 7.3).

It listens on ``127.0.0.1`` (a free port, or a fixed one for a real tenant's Allowed Callback
URLs), takes exactly one callback whose ``state`` matches the sign-in in progress, and answers
every other request with a 400 page that it otherwise ignores. The browser's tab waits until
the app has finished with the code, then says what happened ("Signed in: you can close this
tab"). The receiver stops after that one callback, or when its owner gives up.

On Binder or JupyterHub the browser cannot reach the kernel's loopback; binder/start makes
jupyter-server-proxy the way in and names it in ``TUTORIAL_CALLBACK_URL`` (with the port in
``TUTORIAL_CALLBACK_PORT``), which ``CallbackReceiver.from_env()`` uses as the redirect URI.

>>> with CallbackReceiver() as receiver:  # doctest: +SKIP
...     receiver.expect(state)
...     callback = receiver.wait(timeout=300)
...     receiver.finish("Signed in as Ada Lovelace: you can close this tab.")
"""

from __future__ import annotations

import contextlib
import hmac
import os
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from session_tutorial.errors import CallbackUnavailable, SignInTimedOut
from session_tutorial.sanitize import excerpt

PATH = "/callback"
ANSWER_TIMEOUT = 60.0  # seconds the browser's tab waits for the app to finish with the code
# Seconds a connection may take to send its request: a client that sends half of one (a
# slowloris) and stalls would otherwise hold a thread and a socket in the kernel for good.
READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Callback:
    """What the tenant sent back: a code, or an error (``access_denied``, ``login_required``)."""

    code: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str | None = None


def _page(title: str, text: str, ok: bool) -> bytes:
    colour = "#174d26" if ok else "#7a1c12"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>body{{font:1.1rem/1.5 system-ui,sans-serif;"
        "background:#eef0f4;display:flex;justify-content:center;margin:0}main{background:#fff;"
        "max-width:28rem;margin:3rem 1rem;padding:2rem;border-radius:.5rem;"
        f"box-shadow:0 .5rem 2rem rgba(0,0,0,.1)}}h1{{font-size:1.4rem;color:{colour}}}"
        f'</style></head><body><main id="st-callback"><h1>{escape(title)}</h1>'
        f"<p>{escape(text)}</p></main></body></html>"
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: CallbackReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(READ_TIMEOUT)  # read per connection, so tests can lower it

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.server.receiver.path:
            self._send(404, "Not found", "This address only receives sign-in callbacks.", False)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items() if len(v) == 1}
        status, title, text, ok = self.server.receiver._arrived(query)
        self._send(status, title, text, ok)

    def _send(self, status: int, title: str, text: str, ok: bool) -> None:
        body = _page(title, text, ok)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the URL holds the code
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request line holds the code: never logged


class CallbackReceiver:
    """Listen for one callback on 127.0.0.1; ``redirect_uri`` is where the tenant sends it."""

    def __init__(self, *, port: int = 0, public_url: str | None = None, path: str = PATH) -> None:
        self.path = path
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise CallbackUnavailable(
                f"Cannot listen on 127.0.0.1:{port} for the sign-in callback ({exc.strerror}): "
                "another program uses that port. Close it, or choose another port (and list "
                "http://127.0.0.1:PORT/callback in the application's Allowed Callback URLs)."
            ) from exc
        self._server.receiver = self
        self.port: int = self._server.server_address[1]
        self.redirect_uri = public_url or f"http://127.0.0.1:{self.port}{path}"
        self._state: str | None = None
        self._lock = threading.Lock()
        self._accepted = False
        self._closed = False
        self._callbacks: queue.Queue[Callback | None] = queue.Queue(maxsize=1)  # None: closed
        self._answer: queue.Queue[tuple[str, str, bool]] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how soon close() returns
            name="sign-in-callback",
            daemon=True,
        )
        self._thread.start()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, port: int = 0
    ) -> CallbackReceiver:
        """A receiver where the environment says: jupyter-server-proxy on Binder, else loopback."""
        env = os.environ if environ is None else environ
        url = env.get("TUTORIAL_CALLBACK_URL") or None
        fixed = env.get("TUTORIAL_CALLBACK_PORT")
        return cls(port=int(fixed) if fixed and not port else port, public_url=url)

    def expect(self, state: str) -> None:
        """Accept only the callback that carries ``state``."""
        self._state = state

    def __enter__(self) -> CallbackReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait(self, timeout: float) -> Callback:
        """The one matching callback; ``SignInTimedOut`` after ``timeout`` seconds (then closed)."""
        try:
            callback = self._callbacks.get(timeout=max(0.0, timeout))
        except queue.Empty:
            callback = None
        else:
            if callback is None:  # close() or cancel() while waiting
                raise SignInTimedOut(
                    "The app stopped waiting for the sign-in (cancelled). Nothing was saved."
                )
            return callback
        self.close()
        raise SignInTimedOut(
            f"No sign-in came back within {timeout:g} s: the browser tab may be closed, showing "
            "an error, or was never opened. Nothing was saved; start the sign-in again."
        )

    def cancel(self) -> None:
        """Give up waiting: ``wait`` raises ``SignInTimedOut`` at once, and the port closes."""
        self.close()

    def finish(self, text: str, ok: bool = True) -> None:
        """Tell the waiting browser tab how the sign-in ended, then stop listening."""
        title = "Signed in" if ok else "Sign-in failed"
        with contextlib.suppress(queue.Full):  # the tab was already told
            self._answer.put_nowait((title, text, ok))
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(queue.Full):  # wakes wait(), unless a callback is there
            self._callbacks.put_nowait(None)
        with contextlib.suppress(queue.Full):
            self._answer.put_nowait(
                ("Sign-in stopped", "The app stopped waiting. Start the sign-in again.", False)
            )
        self._server.shutdown()
        self._server.server_close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _arrived(self, query: dict[str, str]) -> tuple[int, str, str, bool]:
        """Judge one request to the callback path: (status, title, text, ok) for the browser."""
        state = query.get("state", "")
        expected = self._state
        if expected is None or not hmac.compare_digest(state.encode(), expected.encode()):
            return (
                400,
                "Not this sign-in",
                "This answer does not belong to the sign-in the app is waiting for (its state "
                "does not match), so it was ignored. Return to the app.",
                False,
            )
        with self._lock:
            if self._accepted or self._closed:
                return (
                    400,
                    "Already done",
                    "The app has already received an answer for this sign-in; this one was "
                    "ignored. You can close this tab.",
                    False,
                )
            self._accepted = True
        if "code" in query and "error" not in query:
            callback = Callback(code=query["code"])
        else:
            # Foreign text that ends up in messages: one short printable line, no token in it.
            description = query.get("error_description")
            callback = Callback(
                error=excerpt(query.get("error") or "invalid_request", limit=64),
                error_description=None if description is None else excerpt(description),
            )
        try:
            self._callbacks.put_nowait(callback)
        except queue.Full:  # closed a moment ago
            return 400, "Sign-in stopped", "The app stopped waiting. Start again.", False
        try:
            title, text, ok = self._answer.get(timeout=ANSWER_TIMEOUT)
        except queue.Empty:
            title, text, ok = "Signed in?", "The app did not say how it went: check it.", False
        return (200 if ok else 400), title, text, ok
