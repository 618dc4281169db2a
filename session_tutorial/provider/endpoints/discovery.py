"""OpenID Connect discovery and the key set (OIDC Discovery 3, RFC 7517)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..idp import IdentityProvider


async def openid_configuration(request: Request) -> JSONResponse:
    idp: IdentityProvider = request.app.state.idp
    iss = idp.config.issuer
    return JSONResponse(
        {
            "issuer": iss,
            "authorization_endpoint": iss + "authorize",
            "token_endpoint": iss + "oauth/token",
            "device_authorization_endpoint": iss + "oauth/device/code",
            "userinfo_endpoint": iss + "userinfo",
            "revocation_endpoint": iss + "oauth/revoke",
            "end_session_endpoint": iss + "v2/logout",
            "jwks_uri": iss + ".well-known/jwks.json",
            "registration_endpoint": iss + "dbconnections/signup",
            "grant_types_supported": [
                "authorization_code",
                "password",
                "http://auth0.com/oauth/grant-type/password-realm",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "name",
                "nickname",
                "email",
                "email_verified",
                "updated_at",
                "sid",
                "nonce",
                "auth_time",
            ],
        }
    )


async def jwks(request: Request) -> JSONResponse:
    idp: IdentityProvider = request.app.state.idp
    return JSONResponse(idp.key.jwks(), headers={"Cache-Control": "public, max-age=300"})
