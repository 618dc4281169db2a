"""Who is signed in here? The notebooks' SessionManager, used from a plain Python script.

    .venv/bin/python examples/whoami.py

(Notebook 06 runs ``notebooks/whoami.py``, the same file in the folder JupyterLab shows.)

It restores the session the notebooks saved in the keychain (renewing it if needed) and prints
who is signed in, or why nobody is. Set AUTH0_DOMAIN and AUTH0_CLIENT_ID to use your own tenant.
"""

from __future__ import annotations

import os
import sys

from session_tutorial import SessionError, SessionManager, Tenant


def main() -> int:
    # SessionManager reads the time from the tenant's clock: real time for your own tenant, and
    # for the local one its clock, which the notebooks move forward (Tenant.local() follows it).
    tenant = Tenant.from_env() if os.environ.get("AUTH0_DOMAIN") else Tenant.local()
    with SessionManager(tenant) as session:
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
