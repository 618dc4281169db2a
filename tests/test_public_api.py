"""The package's public surface: everything a notebook or script uses, from one import."""

from __future__ import annotations

import re

import session_tutorial
from session_tutorial import errors


def test_all_is_sorted_and_complete() -> None:
    assert session_tutorial.__all__ == sorted(session_tutorial.__all__)
    for name in session_tutorial.__all__:
        assert hasattr(session_tutorial, name), name


def test_every_error_class_is_exported_and_has_a_docstring() -> None:
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, (errors.SessionError, Warning)):
            if obj.__module__ != errors.__name__:
                continue
            assert name in session_tutorial.__all__, name
            # A first line that says what it means; tests/test_site.py checks the rest of the
            # docstring says when it happens and what to do (the website's error catalogue).
            assert obj.__doc__ and obj.__doc__.strip().splitlines()[0].strip(), name


def test_every_error_is_a_session_error() -> None:
    for name in session_tutorial.__all__:
        obj = getattr(session_tutorial, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, session_tutorial.SessionError), name


def test_a_blocked_account_is_not_retryable_though_its_status_is_429() -> None:
    blocked = errors.AccountBlocked("blocked", error="too_many_attempts", status_code=429)
    assert blocked.retryable is False
    assert errors.RateLimited("slow", status_code=429).retryable is True
    assert errors.ServerError("down", status_code=503).retryable is True
    assert errors.NetworkError("down").retryable is True
    assert errors.WrongCredentials("no", status_code=403).retryable is False


def test_importing_the_package_does_not_import_the_widgets_nor_httpx_its_cli() -> None:
    """Nor, with the client, httpx's command-line client (click, pygments), which httpx's own
    import tries to load (and without rich cannot); nor, with the session manager, the lock
    file's library, which only a renewal takes."""
    import subprocess
    import sys

    code = (
        "import sys, session_tutorial; print('ipywidgets' in sys.modules)\n"
        "import session_tutorial.client, session_tutorial.session, httpx\n"
        "print('click' in sys.modules, 'pygments' in sys.modules, callable(httpx.main))\n"
        "print('filelock' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["False", "False False True", "False"]
    assert session_tutorial.LoginForm.__name__ == "LoginForm"


def test_the_tenant_its_signing_helpers_and_the_launcher_load_none_of_the_client() -> None:
    """Each tenant start, signing helper and keychain launcher pays for what it imports (the
    suite starts dozens). A helper signs with ``cryptography`` itself: no PyJWT; the tenant
    loads PyJWT only to verify an access token."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import session_tutorial.launcher\n"
        "import session_tutorial.provider.signing_helper\n"
        "print(sorted(m for m in sys.modules if m.startswith('session_tutorial')))\n"
        "print(*(m in sys.modules for m in ('asyncio', 'keyring', 'jwt', 'platformdirs')))\n"
        "import session_tutorial.provider.server\n"
        "client = {'httpx', 'ipywidgets', 'jwt', 'keyring', 'session_tutorial.client'}\n"
        "print(sorted(client & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    helper, helper_loads, server = out.stdout.splitlines()
    assert helper == str(
        [
            "session_tutorial",
            "session_tutorial.launcher",
            "session_tutorial.provider",
            "session_tutorial.provider.jws",
            "session_tutorial.provider.keys",
            "session_tutorial.provider.signing_helper",
        ]
    )
    assert helper_loads == "False False False False"
    assert server == "[]"


def test_the_tenant_commands_load_only_what_they_run(tmp_path) -> None:
    """``provider start``, ``stop`` and ``status`` check readiness with http.client: neither
    httpx nor the server; only ``start`` takes the file lock (the suite runs dozens)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from session_tutorial.provider.__main__ import main\n"
        "main(['--data-dir', sys.argv[1], sys.argv[2]])\n"
        "heavy = {'httpx', 'filelock', 'uvicorn', 'starlette', 'jwt', 'keyring'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    for command in ("status", "stop"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "tenant"), command],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.splitlines()[-1] == "[]", command


def test_access_denied_is_an_auth_error_apart_from_account_blocked_and_not_retryable() -> None:
    denied = errors.AccessDenied("denied", error="access_denied", status_code=403)
    assert isinstance(denied, errors.AuthError)
    assert not isinstance(denied, errors.AccountBlocked)
    assert denied.retryable is False
    assert session_tutorial.AccessDenied is errors.AccessDenied


def test_a_too_large_min_ttl_is_caught_by_except_value_error_and_except_session_error() -> None:
    for base in (ValueError, errors.SessionError):
        try:
            raise session_tutorial.MinTTLTooLarge("min_ttl is longer than ...")
        except base as exc:
            assert exc.__class__ is errors.MinTTLTooLarge


def test_the_errors_docstring_draws_every_error_class_in_its_tree() -> None:
    assert errors.__doc__ is not None
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.SessionError):
            assert re.search(rf"^[ │├└─]*{name}\b", errors.__doc__, re.MULTILINE), name
