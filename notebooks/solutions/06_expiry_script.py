"""Who is signed in, and how long has the access token left? A plain script.

Run it from notebook 06 with ``tutorial.run_script("solutions/06_expiry_script.py")``.
"""

from session_tutorial import SessionManager, Tenant

tenant = Tenant.local()  # its clock follows the local tenant's, which the notebooks move
with SessionManager(tenant) as session:
    profile = session.restore()
    if profile is None:
        print(f"Signed out: {session.last_reason}")
    else:
        left = session.credentials().expires_in(tenant.clock())
        print(f"{profile['email']}: the access token has about {round(left / 60)} minutes left")
