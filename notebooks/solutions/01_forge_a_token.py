import base64
import json

from session_tutorial import TokenVerificationFailed

header, payload, signature = credentials.id_token.split(".")
forged_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
forged_claims["name"] = "Mallory"
forged_payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=")
forged = ".".join([header, forged_payload.decode(), signature])

try:
    verify_id_token(forged, tutorial.tenant, now=tutorial.clock())
except TokenVerificationFailed as exc:
    print(f"Not fooled: {exc}")
