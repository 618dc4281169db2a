"""Who is signed in here? The notebooks' SessionManager, used from a plain Python script.

    .venv/bin/python examples/whoami.py

(Notebook 06 runs ``notebooks/whoami.py``, the same file in the folder JupyterLab shows.)

It restores the session the notebooks saved in the keychain (renewing it if needed) and prints
who is signed in, or why nobody is. Set AUTH0_DOMAIN and AUTH0_CLIENT_ID to use your own tenant.
"""

from __future__ import annotations

import os
import sys
import time

from session_tutorial import SessionError, SessionManager, Tenant


def main() -> int:
    if os.environ.get("AUTH0_DOMAIN"):
        tenant, clock = Tenant.from_env(), time.time
    else:
        from session_tutorial.provider import TenantControl

        tenant = Tenant.local()
        # Only because the notebooks move the local tenant's clock: follow it. With a real
        # tenant, leave the clock out (SessionManager uses time.time).
        clock = TenantControl.local().clock
    with SessionManager(tenant, clock=clock) as session:
        try:
            profile = session.restore()
        except SessionError as exc:
            if exc.retryable:  # the network, a 5xx or a 429: the stored session is kept
                print(f"Could not check the session now ({exc}); try again later.")
                return 2
            print(exc)  # not worth retrying as is: the message says what to do
            return 1
        if profile is None:
            print(f"Signed out: {session.last_reason}")
            return 1
        print(f"Signed in as {profile['name']} <{profile['email']}>")
        return 0


if __name__ == "__main__":
    sys.exit(main())
