"""Tenant: the settings object every other piece is built from."""

from __future__ import annotations

import dataclasses

import pytest

from session_tutorial.tenant import DEFAULT_CONNECTION, DEFAULT_SCOPE, Tenant


def test_a_bare_auth0_domain_implies_https():
    tenant = Tenant("example.eu.auth0.com", "abc")
    assert tenant.base_url == "https://example.eu.auth0.com"
    assert tenant.issuer == "https://example.eu.auth0.com/"


def test_a_full_local_url_keeps_its_scheme_and_port():
    tenant = Tenant("http://127.0.0.1:8941", "tutorial-app")
    assert tenant.base_url == "http://127.0.0.1:8941"
    assert tenant.host == "127.0.0.1:8941"


def test_a_trailing_slash_on_the_domain_does_not_double_the_issuers_slash():
    assert Tenant("http://127.0.0.1:8941/", "x").issuer == "http://127.0.0.1:8941/"


def test_every_endpoint_url_is_derived_from_the_base_url():
    tenant = Tenant("http://localhost:9000", "app")
    assert tenant.token_url == "http://localhost:9000/oauth/token"
    assert tenant.device_code_url == "http://localhost:9000/oauth/device/code"
    assert tenant.userinfo_url == "http://localhost:9000/userinfo"
    assert tenant.revoke_url == "http://localhost:9000/oauth/revoke"
    assert tenant.logout_endpoint == "http://localhost:9000/v2/logout"
    assert tenant.jwks_url == "http://localhost:9000/.well-known/jwks.json"
    assert (
        tenant.openid_configuration_url == "http://localhost:9000/.well-known/openid-configuration"
    )


def test_the_keychain_account_names_both_tenant_and_app():
    assert Tenant("example.auth0.com", "abc").account == "example.auth0.com/abc"


def test_defaults_match_auth0s_database_connection_and_an_offline_scope():
    tenant = Tenant("example.auth0.com", "abc")
    assert tenant.connection == DEFAULT_CONNECTION == "Username-Password-Authentication"
    assert tenant.scope == DEFAULT_SCOPE
    assert "offline_access" in tenant.scope.split()
    assert tenant.audience is None


def test_a_tenant_is_frozen():
    tenant = Tenant("example.auth0.com", "abc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tenant.client_id = "other"  # type: ignore[misc]


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(ValueError, match="unencrypted"):
        Tenant("http://example.com", "abc")


@pytest.mark.parametrize(
    "domain", ["", "ftp://example.com", "https://example.com/some/path", "https://"]
)
def test_a_domain_that_is_not_a_host_is_refused_at_once(domain):
    with pytest.raises(ValueError):
        Tenant(domain, "abc")


def test_an_empty_client_id_is_refused():
    with pytest.raises(ValueError, match="Client ID"):
        Tenant("example.auth0.com", "")


def test_from_env_reads_the_auth0_variables():
    tenant = Tenant.from_env(
        {
            "AUTH0_DOMAIN": "example.auth0.com",
            "AUTH0_CLIENT_ID": "abc",
            "AUTH0_AUDIENCE": "https://api.example.com",
            "AUTH0_CONNECTION": "employees",
        }
    )
    assert tenant == Tenant(
        "example.auth0.com", "abc", connection="employees", audience="https://api.example.com"
    )


def test_from_env_names_every_missing_variable():
    with pytest.raises(ValueError, match="AUTH0_DOMAIN and AUTH0_CLIENT_ID"):
        Tenant.from_env({})


def test_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("AUTH0_DOMAIN", "env.auth0.com")
    monkeypatch.setenv("AUTH0_CLIENT_ID", "from-env")
    monkeypatch.delenv("AUTH0_AUDIENCE", raising=False)
    monkeypatch.delenv("AUTH0_CONNECTION", raising=False)
    assert Tenant.from_env() == Tenant("env.auth0.com", "from-env")


@pytest.mark.integration
def test_local_is_the_running_background_tenant_and_follows_its_clock(local_tenant) -> None:
    tenant = Tenant.local()
    assert tenant == Tenant(local_tenant.url, "tutorial-app")
    before = tenant.clock()
    local_tenant.advance_clock(3600)
    # The client's clock follows the one the teacher moved, with no request to the tenant.
    assert 3600 <= tenant.clock() - before < 3600 + 60


def test_plain_http_to_another_machine_needs_an_explicit_opt_in() -> None:
    env = {"AUTH0_DOMAIN": "http://192.0.2.10:8941", "AUTH0_CLIENT_ID": "tutorial-app"}
    with pytest.raises(ValueError, match="AUTH0_ALLOW_HTTP"):
        Tenant.from_env(env)
    tenant = Tenant.from_env({**env, "AUTH0_ALLOW_HTTP": "1"})
    assert tenant.issuer == "http://192.0.2.10:8941/"
