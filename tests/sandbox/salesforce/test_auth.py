"""Login and sessions: the hook reaches the org through the Airflow connection alone."""

from __future__ import annotations

import base64

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

pytestmark = pytest.mark.sandbox


def _token_url(sf_sandbox) -> str:
    return sf_sandbox.connections["salesforce"]["token_url"]


def test_given_only_an_airflow_connection_when_the_hook_connects_then_it_logs_in_by_oauth(sf):
    """api-notes 1.3, 3.1.1, 4.4: SalesforceHook builds simple-salesforce from the connection
    (password grant against the sandbox token endpoint) and a query succeeds."""
    assert sf.auth_type == "password"
    assert sf.sf_instance.startswith("127.0.0.1:")
    result = sf.query("SELECT Id FROM User")
    assert result["totalSize"] == 1
    assert sf.api_usage["api-usage"].total == 100_000


def test_given_the_long_lived_token_when_used_as_a_session_id_then_calls_succeed(sf_sandbox):
    """api-notes 1.3 (A): Salesforce(instance_url=..., session_id=access_token) works directly."""
    info = sf_sandbox.connections["salesforce"]
    sf = Salesforce(
        instance_url=info["instance_url"],
        session_id=info["access_token"],
        version=info["api_version"],
    )
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 14


def test_given_wrong_credentials_when_logging_in_then_the_oauth_errors_are_salesforces(sf_sandbox):
    """api-notes 3.1.1: invalid_grant / invalid_client_id come back as HTTP 400 and
    simple-salesforce raises SalesforceAuthenticationFailed."""
    info = sf_sandbox.connections["salesforce"]
    domain = info["airflow_extra"]["domain"]
    with pytest.raises(SalesforceAuthenticationFailed) as bad_password:
        Salesforce(
            username=info["username"],
            password="wrong",
            consumer_key=info["consumer_key"],
            consumer_secret=info["consumer_secret"],
            domain=domain,
        )
    assert bad_password.value.code == "invalid_grant"
    with pytest.raises(SalesforceAuthenticationFailed) as bad_client:
        Salesforce(
            username=info["username"],
            password=info["password"],
            consumer_key="nope",
            consumer_secret=info["consumer_secret"],
            domain=domain,
        )
    assert bad_client.value.code == "invalid_client_id"


def test_given_client_credentials_when_logging_in_then_a_session_is_issued(sf_sandbox):
    """api-notes 1.3, 3.1.1: the client-credentials flow (Basic auth) through simple-salesforce."""
    info = sf_sandbox.connections["salesforce"]
    sf = Salesforce(
        consumer_key=info["consumer_key"],
        consumer_secret=info["consumer_secret"],
        domain=info["airflow_extra"]["domain"],
    )
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] > 0


def test_given_a_refresh_token_when_refreshing_then_a_new_access_token_works(sf_sandbox):
    """api-notes 3.1.1: refresh_token grant (for the project's own use) returns a usable token;
    an unknown refresh token is invalid_grant."""
    info = sf_sandbox.connections["salesforce"]
    first = requests.post(
        _token_url(sf_sandbox),
        data={
            "grant_type": "password",
            "client_id": info["consumer_key"],
            "client_secret": info["consumer_secret"],
            "username": info["username"],
            "password": info["password"] + info["security_token"],
        },
        timeout=30,
    ).json()
    refreshed = requests.post(
        _token_url(sf_sandbox),
        data={
            "grant_type": "refresh_token",
            "client_id": info["consumer_key"],
            "client_secret": info["consumer_secret"],
            "refresh_token": first["refresh_token"],
        },
        timeout=30,
    )
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["instance_url"] == info["instance_url"] and body["token_type"] == "Bearer"
    sf = Salesforce(instance_url=body["instance_url"], session_id=body["access_token"])
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    unknown = requests.post(
        _token_url(sf_sandbox),
        data={
            "grant_type": "refresh_token",
            "client_id": info["consumer_key"],
            "refresh_token": "nope",
        },
        timeout=30,
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    basic = base64.b64encode(f"{info['consumer_key']}:bad".encode()).decode()
    bad_secret = requests.post(
        _token_url(sf_sandbox),
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    assert bad_secret.json()["error"] == "invalid_client"


def test_given_a_bad_token_when_calling_then_401_invalid_session_id(sf_sandbox):
    """api-notes 3.1.3: a bad bearer token gets 401 with a JSON list carrying INVALID_SESSION_ID;
    simple-salesforce raises SalesforceExpiredSession in direct-session mode."""
    info = sf_sandbox.connections["salesforce"]
    sf = Salesforce(instance_url=info["instance_url"], session_id="00Dbogus!token")
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Account")
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert caught.value.content[0]["message"] == "Session expired or invalid"


def test_given_an_expired_session_when_the_hook_calls_then_it_logs_in_again(sf, fresh):
    """api-notes 3.1.3, 1.3 (B): sessions expire on the sandbox clock (ttl settable); the hook's
    client has a login partial and re-logs in on INVALID_SESSION_ID, transparently."""
    fresh.call("salesforce", "POST", "session", {"ttl_seconds": 60})
    sf.session_id = "stale"  # replaced below by a short-lived session
    sf._refresh_session()
    old = sf.session_id
    fresh.set_clock("salesforce", advance_seconds=120)
    direct = Salesforce(
        instance_url=fresh.connections["salesforce"]["instance_url"], session_id=old
    )
    with pytest.raises(SalesforceExpiredSession):
        direct.query("SELECT Id FROM User")
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    assert sf.session_id != old


def test_given_soap_credentials_when_logging_in_through_a_redirect_then_it_works(sf_sandbox):
    """api-notes 1.3 (B), 3.1.2: SOAP login (username, password, security token) reaches the
    sandbox through a redirecting adapter; a wrong password is INVALID_LOGIN."""
    info = sf_sandbox.connections["salesforce"]
    target = info["instance_url"]

    class Redirect(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):
            request.url = request.url.replace("https://login.salesforce.com", target)
            return super().send(request, **kwargs)

    session = requests.Session()
    session.mount("https://login.salesforce.com", Redirect())
    sf = Salesforce(
        username=info["username"],
        password=info["password"],
        security_token=info["security_token"],
        session=session,
    )
    assert sf.sf_instance == target.split("://")[1]
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username=info["username"],
            password="wrong",
            security_token=info["security_token"],
            session=session,
        )
    assert caught.value.code == "INVALID_LOGIN"
