"""``python -m session_tutorial status`` (what is set up, who is signed in) and ``sign-out``."""

from __future__ import annotations

import argparse
import gc
import sys


def main(argv: list[str] | None = None) -> int:
    """Run a command; the return value is the exit code (``status``: 0, 4 or 1)."""
    parser = argparse.ArgumentParser(
        prog="python -m session_tutorial",
        description="Check the tutorial's setup and session, or sign out.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "status",
        help="keychain, tenant, saved session, teaching controls "
        "(exit 0: signed in, 4: sign-in needed, 1: something is broken)",
    )
    commands.add_parser(
        "sign-out",
        help="revoke the saved session at the tenant if it answers, and clear the keychain entry",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "status":
            from session_tutorial.status import check_configured

            report = check_configured()
            print(report)
            return report.exit_code
        return _sign_out()
    except RuntimeError as exc:
        # Imported only now: with a real Auth0 tenant the provider (Starlette) is never loaded.
        from session_tutorial.provider.keyfiles import TenantFilesError

        if not isinstance(exc, TenantFilesError):
            raise
        print(f"error: {exc}", file=sys.stderr)  # another user's data folder: not a traceback
        return 1


def _sign_out() -> int:
    from session_tutorial.errors import SessionError
    from session_tutorial.session import SessionManager
    from session_tutorial.status import BROKEN, configured

    setup = configured(probe_teaching=False)
    try:
        with SessionManager(setup.tenant, setup.store) as session:
            session.sign_out(force=True)
    except SessionError as exc:
        print(f"Could not sign out: {exc}", file=sys.stderr)
        return BROKEN
    print(session.last_reason or "Signed out: the keychain entry for this tenant is gone.")
    return 0


if __name__ == "__main__":
    # One command, then exit: loading the client and the keychain makes no garbage worth the
    # cyclic collector's walks over what the imports create (as provider/__main__.py).
    gc.disable()
    sys.exit(main())
