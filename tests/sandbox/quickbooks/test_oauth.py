"""OAuth 2.0 as intuit-oauth drives it (api-notes 1.2, 2.1, 4.1)."""

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
    """api-notes 2.1.1: the discovery document has the six keys intuit-oauth reads."""
    client = qbo.auth_client()
    base = qbo.info["base_url"]
    for value in (
        client.auth_endpoint,
        client.token_endpoint,
        client.revoke_endpoint,
        client.issuer_uri,
        client.jwks_uri,
        client.user_info_url,
    ):
        assert value.startswith(base)


def test_given_connection_info_token_when_client_built_then_it_refreshes_and_queries(qbo):
    """api-notes 1.2: connections.json carries a valid refresh token; QuickBooks() refreshes it."""
    fresh = qbo.refresh_token()
    qb = qbo.client(fresh)
    assert qb.refresh_token != fresh  # rotated inside the constructor
    assert qb.auth_client.expires_in == 3600
    assert qb.auth_client.x_refresh_token_expires_in > 8_000_000
    assert Customer.count(qb=qb) > 0


def test_given_rotated_refresh_token_when_old_one_reused_then_invalid_grant(qbo):
    """api-notes 2.1.2: rotation on every refresh; the superseded token dies at once."""
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
    """api-notes 5 item 1: a settable grace window for the previous refresh token."""
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
    """api-notes 2.1.2: Basic client authentication is checked (401 invalid_client)."""
    from intuitlib.client import AuthClient

    info = qbo.info
    client = AuthClient(
        info["client_id"], "wrong", info["redirect_uri"], environment=info["discovery_url"]
    )
    with pytest.raises(AuthClientError) as excinfo:
        client.refresh(refresh_token=qbo.refresh_token())
    assert excinfo.value.status_code == 401
    assert b"invalid_client" in excinfo.value.content


def test_given_authorization_code_when_exchanged_then_tokens_and_realm_returned(qbo):
    """api-notes 4.1: get_authorization_url, consent redirect, get_bearer_token."""
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
    """api-notes 2.3: 401 with the lower-case fault body; python-quickbooks raises before parsing."""
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
    """api-notes 2.1.3: revoke with Basic auth and a JSON body."""
    qb = qbo.client()
    assert qb.auth_client.revoke(token=qb.refresh_token) is True
    with pytest.raises(AuthorizationException):
        Customer.count(qb=qb)
    with pytest.raises(AuthClientError):
        qbo.auth_client().refresh(refresh_token=qb.refresh_token)


def test_given_token_when_used_on_another_realm_then_401(qbo):
    """api-notes 2.11: access tokens are bound to their realm."""
    qb = qbo.client()
    answer = qbo.http("GET", "companyinfo/1", qb.auth_client.access_token)
    assert answer.status_code == 200
    url = f"{qbo.info['api_base']}/company/123/companyinfo/123"
    other = requests.get(
        url,
        headers={
            "Authorization": f"Bearer {qb.auth_client.access_token}",
            "Accept": "application/json",
        },
        timeout=10,
    )
    assert other.status_code == 401
    assert other.json()["fault"]["error"][0]["code"] == "3200"


@pytest.fixture
def lenient(qbo):
    """The sandbox in lenient mode for one test (strict again afterwards), clock reset."""
    qbo.call("POST", "oauth/settings", {"refresh_token_mode": "lenient"})
    try:
        yield qbo
    finally:
        qbo.call(
            "POST", "oauth/settings", {"refresh_token_mode": "strict", "rotation_seconds": 86400}
        )
        qbo.admin.set_clock("quickbooks", reset=True)


def test_given_lenient_mode_when_refreshing_within_a_day_then_the_value_stays_the_same(lenient):
    """Lenient reading of Intuit's texts: the value changes about once a day; until then a
    refresh answers with the same refresh token (its rolling expiry renewed)."""
    token = lenient.refresh_token()
    client = lenient.auth_client()
    client.refresh(refresh_token=token)
    assert client.refresh_token == token
    lenient.admin.set_clock("quickbooks", advance_seconds=3600)
    client.refresh(refresh_token=token)
    assert client.refresh_token == token and client.access_token


def test_given_lenient_mode_when_a_day_passed_then_rotation_and_the_old_value_still_works(lenient):
    """After ``rotation_seconds`` the value changes; the superseded value is not refused, it
    answers with the newest token of its chain (no second rotation)."""
    old = lenient.refresh_token()
    lenient.admin.set_clock("quickbooks", advance_seconds=86400 + 60)
    first = lenient.auth_client()
    first.refresh(refresh_token=old)
    newer = first.refresh_token
    assert newer != old
    again = lenient.auth_client()
    again.refresh(refresh_token=old)
    assert again.refresh_token == newer and again.access_token


def test_given_a_revoked_chain_in_lenient_mode_when_an_old_value_is_used_then_invalid_grant(
    lenient,
):
    """Revoking the newest token revokes the authorisation: the older values die with it."""
    old = lenient.refresh_token()
    lenient.admin.set_clock("quickbooks", advance_seconds=86400 + 60)
    client = lenient.auth_client()
    client.refresh(refresh_token=old)
    assert client.revoke(token=client.refresh_token) is True
    with pytest.raises(AuthClientError) as excinfo:
        lenient.auth_client().refresh(refresh_token=old)
    assert b"invalid_grant" in excinfo.value.content


def test_given_an_unknown_mode_when_set_then_400_and_the_settings_unchanged(qbo):
    """The admin API refuses a mode it does not know and keeps the current one."""
    answer = requests.post(
        qbo.info["admin_url"] + "/oauth/settings",
        json={"refresh_token_mode": "sloppy", "grace_seconds": 5},
        timeout=10,
    )
    assert answer.status_code == 400 and "refresh_token_mode" in answer.json()["error"]
    assert qbo.call("GET", "oauth/settings")["refresh_token_mode"] == "strict"
    assert qbo.call("GET", "oauth/settings")["grace_seconds"] == 0


def test_given_a_token_near_its_five_year_cap_when_refreshed_then_expires_in_reports_the_cap(qbo):
    """x_refresh_token_expires_in is the rolling 100 days, never past the authorisation's
    5-year cap; x_refresh_token_hard_expires_in (the cap) only when the request asks for it
    with the x-include-refresh-token-hard-expires-in header."""
    info = qbo.info
    token = qbo.call("POST", "oauth/refresh-token", {"hard_expires_in": 20 * 86400})[
        "refresh_token"
    ]
    form = {"grant_type": "refresh_token", "refresh_token": token}
    auth = (info["client_id"], info["client_secret"])
    url = info["base_url"] + "/oauth2/v1/tokens/bearer"
    plain = requests.post(url, data=form, auth=auth, timeout=10).json()
    assert 20 * 86400 - 60 <= plain["x_refresh_token_expires_in"] <= 20 * 86400
    assert "x_refresh_token_hard_expires_in" not in plain
    asked = requests.post(
        url,
        data={**form, "refresh_token": plain["refresh_token"]},
        auth=auth,
        headers={"x-include-refresh-token-hard-expires-in": "true"},
        timeout=10,
    ).json()
    assert asked["x_refresh_token_hard_expires_in"] == asked["x_refresh_token_expires_in"]
    fresh = qbo.auth_client()
    fresh.refresh(refresh_token=qbo.refresh_token())
    assert 99 * 86400 < fresh.x_refresh_token_expires_in <= 100 * 86400
