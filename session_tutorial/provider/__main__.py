"""``python -m session_tutorial.provider``: run and manage the local Auth0-compatible tenant.

serve    run in the foreground until Ctrl-C (SIGINT) or SIGTERM
start    run in the background (pid and URL kept in the data dir); no-op if running
stop     stop the background tenant
status   say whether it runs, and where
clock    show, advance (--advance S) or reset (--reset) the tenant's clock (teaching control)
revoke   revoke a user's refresh tokens (teaching control)
sessions list a user's refresh-token families (teaching control)
unblock  unblock a user after too many failed logins (teaching control)
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import keyfiles
from .config import DEFAULT_PORT, TenantConfig, default_data_dir
from .keyfiles import TenantFilesError

if TYPE_CHECKING:
    from .control import TenantControl

# The server (uvicorn, Starlette, the endpoints) is imported for `serve` only, the background
# start and its readiness check (http.client) for the other commands, and the teaching
# controls' client (httpx) for those controls only: each process loads what it runs.


def _seconds(text: str) -> int:
    """A whole number of seconds, 0 or more (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seconds cannot be negative: {value}")
    return value


def _interval(text: str) -> int:
    """A device-flow poll interval: a whole number of seconds, 1 or more (argparse type)."""
    value = _seconds(text)
    if value < 1:
        raise argparse.ArgumentTypeError("the poll interval is at least 1 second")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m session_tutorial.provider",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the tenant keeps its state (default: $SESSION_TUTORIAL_TENANT_DIR, "
        "else your user data folder)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("serve", "start"):
        s = sub.add_parser(name, help=f"{name} the tenant")
        s.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve a whole workshop room")
        s.add_argument(
            "--port", type=int, default=None, help=f"default {DEFAULT_PORT}; 0: any free port"
        )
        s.add_argument("--data-dir", type=Path, default=None, dest="sub_data_dir")
        s.add_argument(
            "--refresh-leeway",
            type=_seconds,
            default=TenantConfig.refresh_leeway,
            help="seconds the previous refresh token stays usable after rotation, for an "
            "answer lost on the way; a replay gets the same successor (default %(default)s; "
            "0 for strict reuse detection, Auth0's default)",
        )
        s.add_argument(
            "--refresh-token-lifetime",
            type=_seconds,
            default=TenantConfig.refresh_token_lifetime,
            metavar="SECONDS",
            help="absolute lifetime of a refresh-token family, from its sign-in, never "
            "extended (default %(default)s: 30 days, as Auth0)",
        )
        s.add_argument(
            "--refresh-token-idle-lifetime",
            type=_seconds,
            default=TenantConfig.refresh_token_idle_lifetime,
            metavar="SECONDS",
            help="inactivity lifetime: a family unused this long ends; each exchange starts "
            "it again (default %(default)s: 15 days, as Auth0)",
        )
        s.add_argument("--access-token-ttl", type=int, default=3600)
        s.add_argument(
            "--device-interval",
            type=_interval,
            default=TenantConfig.device_interval,
            metavar="SECONDS",
            help="how often a device-flow client may poll for approval (default %(default)s, "
            "as Auth0)",
        )
        s.add_argument(
            "--api",
            action="append",
            default=[],
            metavar="AUDIENCE",
            help="an API (audience) access tokens may be asked for, e.g. "
            "https://api.example.com/ (repeat for several); any other is refused with "
            "access_denied, as Auth0 does; the tenant's own /userinfo is always known",
        )
        s.add_argument(
            "--request-timeout",
            type=float,
            default=TenantConfig.request_timeout,
            metavar="SECONDS",
            help="seconds a client has to send a request's headers, then its body, before "
            "the tenant drops it (default %(default)s)",
        )
        s.add_argument(
            "--max-connections",
            type=int,
            default=TenantConfig.max_connections,
            metavar="N",
            help="connections at once; beyond, requests get 503 (default %(default)s)",
        )
        s.add_argument(
            "--no-teaching",
            action="store_true",
            help="turn off /_teaching controls, like a real Auth0 tenant",
        )
        s.add_argument(
            "--public-url",
            default=None,
            help="base URL browsers use, e.g. behind jupyter-server-proxy",
        )
        s.add_argument(
            "--redirect-uri",
            action="append",
            default=[],
            metavar="URL",
            help="an allowed callback URL of the app, matched exactly (repeatable); loopback "
            "http://127.0.0.1:PORT/... and http://[::1]:PORT/... are always allowed",
        )
        s.add_argument(
            "--no-loopback-confirmation",
            action="store_true",
            help="single sign-on answers loopback callbacks without asking the user first "
            "(Auth0's opt-out of its confirmation for non-verifiable callbacks)",
        )
        s.add_argument(
            "--issuer",
            default=None,
            help="the URL clients use, e.g. http://TEACHER-IP:8941/ for a room "
            "(default: http://HOST:PORT/, with 127.0.0.1 for 0.0.0.0)",
        )
    sub.add_parser("stop", help="stop the background tenant")
    sub.add_parser("status", help="is the background tenant running?")
    c = sub.add_parser("clock", help="show the tenant's clock, advance it, or reset it")
    moves = c.add_mutually_exclusive_group()
    moves.add_argument("--advance", type=float, default=None, metavar="SECONDS")
    moves.add_argument(
        "--reset", action="store_true", help="back to real time (and unblock every account)"
    )
    for name, what in (
        ("revoke", "revoke a user's refresh tokens, as an admin would"),
        ("sessions", "list a user's refresh-token families"),
        ("unblock", "unblock a user after too many failed logins"),
    ):
        sub.add_parser(name, help=what).add_argument("email")
    sub.add_parser("admin-key", help="print the admin key (for a shared workshop tenant)")
    return p


def _server_args(args: argparse.Namespace) -> tuple[str, ...]:
    extra = [
        "--refresh-leeway",
        str(args.refresh_leeway),
        "--access-token-ttl",
        str(args.access_token_ttl),
        "--refresh-token-lifetime",
        str(args.refresh_token_lifetime),
        "--refresh-token-idle-lifetime",
        str(args.refresh_token_idle_lifetime),
        "--device-interval",
        str(args.device_interval),
    ]
    extra += ["--request-timeout", str(args.request_timeout)]
    extra += ["--max-connections", str(args.max_connections)]
    for api in args.api:
        extra += ["--api", api]
    if args.no_teaching:
        extra.append("--no-teaching")
    if args.public_url:
        extra += ["--public-url", args.public_url]
    if args.issuer:
        extra += ["--issuer", args.issuer]
    for uri in args.redirect_uri:
        extra += ["--redirect-uri", uri]
    if args.no_loopback_confirmation:
        extra.append("--no-loopback-confirmation")
    return tuple(extra)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = getattr(args, "sub_data_dir", None) or args.data_dir or default_data_dir()
    if args.command == "serve":
        from .listening import listen

        wanted = DEFAULT_PORT if args.port is None else args.port
        try:
            sock = listen(args.host, wanted)  # bound before the issuer is known: port 0 works
        except OSError as exc:
            print(
                f"error: the tenant cannot listen on {args.host}:{wanted} ({exc.strerror or exc}); "
                "choose another --port, or --port 0 for any free one",
                file=sys.stderr,
            )
            return 1
        from .server import issuer_for, serve

        port = sock.getsockname()[1]
        config = TenantConfig(
            issuer=args.issuer or issuer_for(args.host, port),
            data_dir=data_dir,
            refresh_leeway=args.refresh_leeway,
            refresh_token_lifetime=args.refresh_token_lifetime,
            refresh_token_idle_lifetime=args.refresh_token_idle_lifetime,
            access_token_ttl=args.access_token_ttl,
            device_interval=args.device_interval,
            teaching=not args.no_teaching,
            apis=tuple(args.api),
            request_timeout=args.request_timeout,
            max_connections=args.max_connections,
            public_url=args.public_url,
            redirect_uris=tuple(args.redirect_uri),
            confirm_loopback=not args.no_loopback_confirmation,
        )
        try:
            serve(config, args.host, sock)
        except TenantFilesError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    from . import background

    try:
        if args.command == "start":
            keyfiles.secure_data_dir(data_dir)  # refused here, with the reason, not in a log
            running = background.start(
                data_dir, host=args.host, port=args.port, extra_args=_server_args(args), quiet=True
            )
            print(running)
            return 0
        if args.command == "stop":  # background.status() refuses another user's state file
            print("stopped" if background.stop(data_dir) else "no local tenant was running")
            return 0
        if args.command == "status":
            found = background.status(data_dir)
            if found:
                print(found)
            elif keyfiles.tenant_lock_held(data_dir):  # its process runs: busy, or stuck
                print(
                    f"a local tenant runs for {data_dir} but did not answer within 2 s (busy or "
                    f"stuck); its log is {data_dir / 'tenant.log'}"
                )
            else:
                print(f"no local tenant is running for {data_dir}")
            return 0 if found else 1
        if args.command == "admin-key":
            from .keyfiles import admin_key

            print(admin_key(data_dir))
            return 0
        return _teaching_command(args, data_dir)
    except TenantFilesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # a tenant that did not start, or runs but does not answer
        if args.command in ("status", "admin-key"):  # these never wait for one: a bug
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _teaching_command(args: argparse.Namespace, data_dir: Path) -> int:
    from .control import TeachingControlError, TenantControl

    try:
        return _teaching(args, TenantControl.local(data_dir, start=False))
    except TeachingControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _teaching(args: argparse.Namespace, control: TenantControl) -> int:
    if args.command == "clock":
        if args.advance is not None:
            control.advance_clock(args.advance)
        elif args.reset:
            control.reset()
        print(f"offset {control.offset():+.0f} s")
    elif args.command == "revoke":
        print(f"revoked {control.revoke_user(args.email)} session(s) of {args.email}")
    elif args.command == "sessions":
        print(json.dumps(control.sessions(args.email), indent=2))
    elif args.command == "unblock":
        control.unblock(args.email)
        print(f"unblocked {args.email}")
    return 0


if __name__ == "__main__":
    # Loading the server, or a command's few modules, makes no garbage worth collecting: the
    # cyclic collector only walks what the imports create (about 7% of a start's CPU). A
    # command exits soon; `serve` freezes what it loaded and turns collection on again before it
    # answers a request (server.serve).
    gc.disable()
    sys.exit(main())
