"""A tenant behind https with a private CA: a certificate failure says so, and a CA bundle
trusted for one tenant makes every request work, the standalone key-set fetch included.

The tenant is the real local one, served over TLS on loopback by uvicorn with a certificate
from a CA made in this test (trustme); nothing leaves the machine.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
import uvicorn

from session_tutorial import status
from session_tutorial.client import AuthClient
from session_tutorial.errors import NetworkError, TLSCertificateError
from session_tutorial.idtoken import verify_id_token
from session_tutorial.provider.app import create_app
from session_tutorial.provider.config import TenantConfig
from session_tutorial.store import MemoryStore
from session_tutorial.tenant import Tenant, _ssl_context, ssl_context_for
from tests.provider_helpers import data_dir_with_key

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"

pytestmark = pytest.mark.integration


@dataclass
class TlsTenant:
    url: str
    ca_bundle: Path
    other_ca_bundle: Path


@pytest.fixture(scope="module")
def tls_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsTenant]:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(folder / "other-ca.pem"))

    # Bound before the server starts: connections queue until it serves, so no waiting loop.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    url = f"https://localhost:{sock.getsockname()[1]}"
    app = create_app(TenantConfig(issuer=f"{url}/", data_dir=data_dir_with_key(folder / "tenant")))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            ssl_certfile=str(folder / "server.pem"),
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield TlsTenant(url, folder / "ca.pem", folder / "other-ca.pem")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_an_untrusted_certificate_is_its_own_error_not_retryable_and_says_how_to_trust_a_ca(
    tls_tenant,
):
    client = AuthClient(Tenant(tls_tenant.url, "tutorial-app"))
    with client, pytest.raises(TLSCertificateError) as caught:
        client.login(ADA, PASSWORD)
    message = str(caught.value)
    assert isinstance(caught.value, NetworkError)  # callers that keep credentials still do
    assert not caught.value.retryable
    assert not caught.value.may_have_reached  # the handshake failed: nothing was sent
    assert "certificate" in message and "AUTH0_CA_BUNDLE" in message
    assert "start the local tenant" not in message.lower()
    assert "session_tutorial.provider start" not in message


def test_a_ca_bundle_for_the_tenant_makes_login_userinfo_and_refresh_work(tls_tenant):
    tenant = Tenant(tls_tenant.url, "tutorial-app", ca_bundle=str(tls_tenant.ca_bundle))
    with AuthClient(tenant) as client:
        credentials = client.login(ADA, PASSWORD)
        assert client.userinfo(credentials.access_token)["name"] == "Ada Lovelace"
        assert client.refresh(credentials.refresh_token).access_token


def test_the_standalone_verify_id_token_fetches_the_key_set_with_the_tenants_ca(tls_tenant):
    tenant = Tenant.from_env(
        {
            "AUTH0_DOMAIN": tls_tenant.url,
            "AUTH0_CLIENT_ID": "tutorial-app",
            "AUTH0_CA_BUNDLE": str(tls_tenant.ca_bundle),
        }
    )
    assert tenant.ca_bundle == str(tls_tenant.ca_bundle)
    with AuthClient(tenant) as client:
        credentials = client.login(ADA, PASSWORD)
    # No jwks= and no client: the default key cache fetches the key set itself.
    assert verify_id_token(credentials.id_token, tenant)["email"] == ADA


def test_a_key_set_fetch_that_failed_without_the_bundle_does_not_fail_the_tenant_with_it(
    tls_tenant,
):
    trusted = Tenant(tls_tenant.url, "tutorial-app", ca_bundle=str(tls_tenant.ca_bundle))
    with AuthClient(trusted) as client:
        id_token = client.login(ADA, PASSWORD).id_token
    with pytest.raises(TLSCertificateError):
        verify_id_token(id_token, Tenant(tls_tenant.url, "tutorial-app"))
    assert verify_id_token(id_token, trusted)["email"] == ADA  # not the cached failure


def test_status_says_the_certificate_is_not_trusted_and_how_to_trust_its_ca(tls_tenant):
    result = status.check(Tenant(tls_tenant.url, "tutorial-app"), MemoryStore(), local=False)
    text = "\n".join(result.lines)
    assert "TLS certificate is not trusted" in text
    assert "AUTH0_CA_BUNDLE" in text
    assert "does not answer" not in text
    trusted = Tenant(tls_tenant.url, "tutorial-app", ca_bundle=str(tls_tenant.ca_bundle))
    assert "answers" in "\n".join(status.check(trusted, MemoryStore(), local=False).lines)


def test_a_bundle_of_another_ca_is_named_in_the_certificate_error(tls_tenant):
    tenant = Tenant(tls_tenant.url, "tutorial-app", ca_bundle=str(tls_tenant.other_ca_bundle))
    with AuthClient(tenant) as client, pytest.raises(TLSCertificateError) as caught:
        client.login(ADA, PASSWORD)
    assert str(tls_tenant.other_ca_bundle) in str(caught.value)


def test_a_ca_bundle_adds_to_the_default_trust_store_instead_of_replacing_it(tls_tenant):
    default = len(_ssl_context(None).get_ca_certs())
    with_bundle = Tenant(tls_tenant.url, "tutorial-app", ca_bundle=str(tls_tenant.ca_bundle))
    assert default > 10  # the public CAs httpx trusts by default
    assert len(with_bundle.ssl_context.get_ca_certs()) == default + 1


def test_a_plain_http_tenants_context_reads_no_ca_and_refuses_any_tls_connection(tls_tenant):
    # Nothing to verify over plain http, so nothing to load (~35 ms of CPU per process); but
    # the context still requires a certificate and its host name: used for TLS, it refuses.
    context = Tenant("http://127.0.0.1:8941", "tutorial-app").ssl_context
    assert context is ssl_context_for("http://127.0.0.1:8941")
    assert context.get_ca_certs() == []
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with httpx.Client(verify=context) as client, pytest.raises(httpx.ConnectError) as caught:
        client.get(f"{tls_tenant.url}/.well-known/openid-configuration")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert ssl_context_for(tls_tenant.url) is _ssl_context(None)
    bundled = Tenant("http://127.0.0.1:8941", "tutorial-app", ca_bundle=str(tls_tenant.ca_bundle))
    assert len(bundled.ssl_context.get_ca_certs()) > 10  # a bundle given is used as before


def test_a_ca_bundle_that_cannot_be_read_is_refused_when_the_tenant_is_made(tmp_path):
    (tmp_path / "not-pem.pem").write_text("hello")
    for path in (tmp_path / "missing.pem", tmp_path / "not-pem.pem"):
        with pytest.raises(ValueError, match="AUTH0_CA_BUNDLE"):
            Tenant("example.auth0.com", "app", ca_bundle=str(path))
