import dataclasses

import httpx

from session_tutorial import AuthorizationCodeRejected, BrowserLogin

login = BrowserLogin(session)
# 1. A callback with another state: the app's own receiver refuses it.
forged = httpx.get(login.receiver.redirect_uri, params={"code": "stolen", "state": "forged"})
print(f"The app's receiver answered {forged.status_code}:", forged.text.split("<h1>")[1][:16])
# 2. A real code with another verifier: the tenant refuses it (and the code is spent).
code = tutorial.code_from_tenant_page(login.url)
other = dataclasses.replace(login.request, code_verifier="x" * 43)
try:
    session.client.exchange_code(other, code)
except AuthorizationCodeRejected as exc:
    print(f"The tenant refused: {exc}")
login.cancel()
