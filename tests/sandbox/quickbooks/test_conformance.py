"""The sandbox answers clients nobody here wrote as Intuit does: both client authentication
methods of the discovery document, ``!=`` in queries, and QBO faults (not the web framework's
JSON) for unknown paths and wrong methods.

docs/sandbox-quickbooks.md ("Client authentication", "Errors", query operators).
"""

from __future__ import annotations

import urllib.parse
import uuid

import pytest
import requests
from quickbooks.exceptions import UnsupportedException, ValidationException
from quickbooks.objects.customer import Customer
from quickbooks.objects.vendor import Vendor
from requests_oauthlib import OAuth2Session

pytestmark = pytest.mark.sandbox

TOKEN_PATH = "/oauth2/v1/tokens/bearer"


def _discovery(qbo) -> dict:
    answer = requests.get(qbo.info["discovery_url"], timeout=10)
    assert answer.status_code == 200
    return answer.json()


def _form_post(qbo, form: dict, **kwargs) -> requests.Response:
    return requests.post(
        qbo.info["base_url"] + TOKEN_PATH,
        data=form,
        timeout=10,
        headers={"Accept": "application/json"},
        **kwargs,
    )


def test_given_the_discovery_document_when_read_then_both_client_auth_methods_are_listed(qbo):
    """Intuit's discovery document lists client_secret_post and client_secret_basic for the
    token endpoint, and the claims of its ID tokens."""
    document = _discovery(qbo)
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_post",
        "client_secret_basic",
    ]
    assert {"realmid", "sub", "iss", "aud"} <= set(document["claims_supported"])


def test_given_requests_oauthlib_posting_its_secret_when_refreshing_then_tokens_rotate(qbo):
    """client_secret_post: requests-oauthlib sends client_id and client_secret in the form
    (no Authorization header); the sandbox refreshes (and rotates) as for Basic."""
    info, old = qbo.info, qbo.refresh_token()
    session = OAuth2Session(info["client_id"])
    qbo.sessions.append(session)
    token = session.refresh_token(
        _discovery(qbo)["token_endpoint"],
        refresh_token=old,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    assert token["access_token"] and token["refresh_token"] != old
    assert token["x_refresh_token_expires_in"] > 0
    answer = qbo.http("GET", "companyinfo/" + info["realm_id"], token["access_token"])
    assert answer.status_code == 200


def test_given_requests_oauthlib_code_flow_with_a_posted_secret_when_exchanged_then_tokens(qbo):
    """The authorization-code grant through requests-oauthlib with ``include_client_id``: the
    consent redirect, then the code exchanged with the secret in the form."""
    info, document = qbo.info, _discovery(qbo)
    session = OAuth2Session(
        info["client_id"],
        redirect_uri=info["redirect_uri"],
        scope=["com.intuit.quickbooks.accounting"],
    )
    qbo.sessions.append(session)
    url, state = session.authorization_url(document["authorization_endpoint"])
    consent = requests.get(url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    callback = consent.headers["location"]
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlparse(callback).query))["state"] == state
    token = session.fetch_token(
        document["token_endpoint"],
        authorization_response=callback,
        client_secret=info["client_secret"],
        include_client_id=True,
    )
    assert token["access_token"] and token["refresh_token"]


def test_given_posted_credentials_when_wrong_or_doubled_then_intuits_oauth_errors(qbo):
    """A wrong posted secret is 401 invalid_client; a secret in the form beside HTTP Basic is
    two methods at once (400 invalid_request); Basic with the form's client_id is fine."""
    info = qbo.info
    form = {
        "grant_type": "refresh_token",
        "refresh_token": qbo.refresh_token(),
        "client_id": info["client_id"],
    }
    wrong = _form_post(qbo, {**form, "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    doubled = _form_post(
        qbo,
        {**form, "client_secret": info["client_secret"]},
        auth=(info["client_id"], info["client_secret"]),
    )
    assert doubled.status_code == 400 and doubled.json()["error"] == "invalid_request"
    basic = _form_post(qbo, form, auth=(info["client_id"], info["client_secret"]))
    assert basic.status_code == 200 and basic.json()["refresh_token"]
    nothing = _form_post(qbo, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert nothing.status_code == 401 and nothing.json()["error"] == "invalid_client"


def test_given_not_equal_when_queried_then_every_other_row_and_angle_brackets_still_refused(qb):
    """``!=`` (sent by integrators, answered by Intuit) filters like the negation of ``=``;
    ``<>`` stays a 4000 parser error."""
    name = f"Not Equal {uuid.uuid4().hex[:6]}"
    made = Customer()
    made.DisplayName = name
    made = made.save(qb=qb)
    others = Customer.where(f"DisplayName != '{name}' AND Id >= '{made.Id}'", qb=qb)
    assert made.Id not in {c.Id for c in others}
    assert Customer.count(f"DisplayName != '{name}'", qb=qb) == Customer.count(qb=qb) - 1
    assert [
        c.Id for c in Customer.where(f"Id != '{made.Id}' AND DisplayName = '{name}'", qb=qb)
    ] == []
    with pytest.raises(ValidationException) as excinfo:
        qb.query(f"SELECT * FROM Customer WHERE DisplayName <> '{name}'")
    assert excinfo.value.error_code == 4000


def _fault(answer: requests.Response) -> dict:
    assert answer.status_code == 400, answer.text
    error = answer.json()["Fault"]["Error"][0]
    assert answer.json()["Fault"]["type"] == "ValidationFault"
    assert (error["code"], error["Message"]) == ("500", "Unsupported Operation")
    return error


def test_given_an_entity_the_sandbox_lacks_when_read_by_python_quickbooks_then_unsupported(qb):
    """A resource no operation takes is Intuit's "Unsupported Operation" fault (code 500,
    HTTP 400), which python-quickbooks raises as UnsupportedException."""
    with pytest.raises(UnsupportedException) as excinfo:
        Vendor.get(1, qb=qb)
    assert excinfo.value.error_code == 500
    assert "Could not find resource for relative : /v3/company/" in excinfo.value.detail


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "nosuchthing"),  # a path only POST takes
        ("GET", "customer/1/a/b"),  # no route at all
        ("DELETE", "customer/1"),  # a wrong method on a read route
        ("PUT", "query"),
    ],
)
def test_given_an_unknown_path_or_wrong_method_when_called_then_a_qbo_fault(qb, qbo, method, path):
    """Unknown API paths and wrong methods get the QBO fault, naming the path, not the web
    framework's 404/405 JSON."""
    error = _fault(qbo.http(method, path, qb.auth_client.access_token))
    assert f"/v3/company/{qbo.info['realm_id']}/{path}" in error["Detail"]


def test_given_no_token_when_calling_an_unknown_api_path_then_401_first(qbo):
    """The token is checked before the path, as for every API call."""
    answer = qbo.http("GET", "nosuchthing", "not-a-token")
    assert answer.status_code == 401
    assert answer.json()["fault"]["error"][0]["code"] == "3200"


def test_given_the_token_endpoint_when_called_with_get_then_405_not_the_frameworks_body(qbo):
    """The token and revoke endpoints take POST only: 405 with ``Allow: POST`` and an OAuth
    error body; paths outside the API and OAuth get the fault too; the admin surface keeps
    FastAPI's answers."""
    base = qbo.info["base_url"]
    for path in (TOKEN_PATH, "/v2/oauth2/tokens/revoke"):
        answer = requests.get(base + path, timeout=10)
        assert answer.status_code == 405
        assert answer.headers["Allow"] == "POST"
        assert answer.json()["error"] == "invalid_request"
    _fault(requests.get(base + "/v2/nothing/here", timeout=10))
    admin = requests.get(base + "/_sandbox/nothing", timeout=10)
    assert admin.status_code == 404 and admin.json() == {"detail": "Not Found"}
