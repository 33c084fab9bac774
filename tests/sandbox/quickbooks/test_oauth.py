"""OAuth 2.0 as intuit-oauth drives it (api-spec 1.2, 2.1, 4.1)."""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.customer import Customer

pytestmark = pytest.mark.sandbox


def test_given_discovery_url_when_auth_client_built_then_all_six_endpoints_point_at_sandbox(qbo):
    """api-spec 2.1.1: the discovery document has the six keys intuit-oauth reads."""
    client = qbo.auth_client()
    base = qbo.info["base_url"]
    for value in (client.auth_endpoint, client.token_endpoint, client.revoke_endpoint,
                  client.issuer_uri, client.jwks_uri, client.user_info_url):
        assert value.startswith(base)


def test_given_connection_info_token_when_client_built_then_it_refreshes_and_queries(qbo):
    """api-spec 1.2: connections.json carries a valid refresh token; QuickBooks() refreshes it."""
    fresh = qbo.refresh_token()
    qb = qbo.client(fresh)
    assert qb.refresh_token != fresh  # rotated inside the constructor
    assert qb.auth_client.expires_in == 3600
    assert qb.auth_client.x_refresh_token_expires_in > 8_000_000
    assert Customer.count(qb=qb) > 0


def test_given_rotated_refresh_token_when_old_one_reused_then_invalid_grant(qbo):
    """api-spec 2.1.2: rotation on every refresh; the superseded token dies at once."""
    client = qbo.auth_client()
    old = qbo.refresh_token()
    client.refresh(refresh_token=old)
    newer = client.refresh_token
    assert newer != old
    with pytest.raises(AuthClientError) as excinfo:
        qbo.auth_client().refresh(refresh_token=old)
    assert excinfo.value.status_code == 400
    assert b"invalid_grant" in excinfo.value.content
    client.refresh(refresh_token=newer)  # the newest keeps working
    assert client.access_token


def test_given_grace_window_when_old_token_reused_then_it_still_works(qbo):
    """api-spec 5 item 1: a settable grace window for the previous refresh token."""
    qbo.call("POST", "oauth/settings", {"grace_seconds": 600})
    try:
        old = qbo.refresh_token()
        first = qbo.auth_client()
        first.refresh(refresh_token=old)
        second = qbo.auth_client()
        second.refresh(refresh_token=old)
        assert second.refresh_token == first.refresh_token
    finally:
        qbo.call("POST", "oauth/settings", {"grace_seconds": 0})


def test_given_wrong_client_secret_when_refreshing_then_invalid_client(qbo):
    """api-spec 2.1.2: Basic client authentication is checked (401 invalid_client)."""
    from intuitlib.client import AuthClient

    info = qbo.info
    client = AuthClient(info["client_id"], "wrong", info["redirect_uri"],
                        environment=info["discovery_url"])
    with pytest.raises(AuthClientError) as excinfo:
        client.refresh(refresh_token=qbo.refresh_token())
    assert excinfo.value.status_code == 401
    assert b"invalid_client" in excinfo.value.content


def test_given_authorization_code_when_exchanged_then_tokens_and_realm_returned(qbo):
    """api-spec 4.1: get_authorization_url, consent redirect, get_bearer_token."""
    client = qbo.auth_client()
    url = client.get_authorization_url([Scopes.ACCOUNTING])
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(answer.headers["location"]).query))
    assert params["realmId"] == qbo.info["realm_id"]
    assert params["state"] == client.state_token
    client.get_bearer_token(params["code"], realm_id=params["realmId"])
    assert client.access_token and client.refresh_token
    with pytest.raises(AuthClientError):  # a code works once
        qbo.auth_client().get_bearer_token(params["code"])


def test_given_expired_access_token_when_calling_api_then_401_authorization_exception(qbo):
    """api-spec 2.3: 401 with the lower-case fault body; python-quickbooks raises before parsing."""
    qb = qbo.client()
    qbo.call("POST", "expire-tokens")
    with pytest.raises(AuthorizationException) as excinfo:
        Customer.count(qb=qb)
    assert excinfo.value.error_code == 401
    assert '"code":"3200"' in excinfo.value.detail
    assert "Token expired" in excinfo.value.detail
    assert Customer.count(qb=qbo.client()) > 0  # a refresh gives a working token again


def test_given_short_ttl_when_clock_moves_past_it_then_token_expires(qbo):
    """Access tokens expire after access_token_ttl_seconds, measured on the sandbox clock."""
    qbo.call("POST", "oauth/settings", {"access_token_ttl_seconds": 120})
    try:
        qb = qbo.client()
        assert qb.auth_client.expires_in == 120
        assert Customer.count(qb=qb) > 0
        qbo.admin.set_clock("quickbooks", advance_seconds=121)
        with pytest.raises(AuthorizationException):
            Customer.count(qb=qb)
    finally:
        qbo.admin.set_clock("quickbooks", reset=True)
        qbo.call("POST", "oauth/settings", {"access_token_ttl_seconds": 3600})


def test_given_refresh_token_when_revoked_then_it_and_its_access_tokens_stop_working(qbo):
    """api-spec 2.1.3: revoke with Basic auth and a JSON body."""
    qb = qbo.client()
    assert qb.auth_client.revoke(token=qb.refresh_token) is True
    with pytest.raises(AuthorizationException):
        Customer.count(qb=qb)
    with pytest.raises(AuthClientError):
        qbo.auth_client().refresh(refresh_token=qb.refresh_token)


def test_given_token_when_used_on_another_realm_then_401(qbo):
    """api-spec 2.11: access tokens are bound to their realm."""
    qb = qbo.client()
    answer = qbo.http("GET", "companyinfo/1", qb.auth_client.access_token)
    assert answer.status_code == 200
    url = f"{qbo.info['api_base']}/company/123/companyinfo/123"
    other = requests.get(url, headers={"Authorization": f"Bearer {qb.auth_client.access_token}",
                                       "Accept": "application/json"}, timeout=10)
    assert other.status_code == 401
    assert other.json()["fault"]["error"][0]["code"] == "3200"
