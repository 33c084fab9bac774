"""QuickBooksHook against the QuickBooks sandbox, driven through the real python-quickbooks and
intuit-oauth over HTTPS: paging and windows, CDC, batch and single writes, escaping, faults
and retries, token rotation across restarts, no secret in the logs.

api-notes 1.2 (pointing the libraries at the server), 2.1.2 (rotation), 2.3 (fault codes),
2.4 (throttling), 2.5 (queries, paging), 2.7 (SyncToken), 2.8 (batch), 2.9 (CDC), 2.10
(requestid); R-GEN-3, R-GEN-5, R-OPS-4.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math

import pytest

from sfqb import qbo_queries as q
from sfqb.hooks.errors import (
    AuthError,
    DuplicateNameError,
    StaleObjectError,
    TransientError,
    ValidationError,
)
from sfqb.hooks.limiter import RateLimiter
from sfqb.hooks.quickbooks import BatchOp, chunk_sizes, request_id_for
from sfqb.hooks.token_store import (
    SEALED,
    AirflowVariableTokenStore,
    InMemoryTokenStore,
    unseal,
    variable_key,
)

pytestmark = pytest.mark.sandbox

QUERY_PATH = "/v3/company/[0-9]+/query"
AWKWARD_NAMES = [
    "O'Brien's Pub",
    'The "Best" Bakery',
    "Back\\slash \\' Trading",
    "100% Organic_Farms",
    "Ünïcödé Café – 東京 Ltd",
    "Quote'\"\\% mix",
]


def ops_counts(admin) -> dict:
    return admin.counters("quickbooks")["by_operation"]


# -- reads ---------------------------------------------------------------------------------


def test_given_a_small_page_size_when_query_all_then_every_record_once_in_ceil_pages(
    qb_hook, qb_hook_env
):
    """api-notes 2.5: STARTPOSITION/MAXRESULTS paging until a short page returns every record
    once; inactive ones only with ``Active IN (true, false)``; COUNT agrees. After a full
    first page the hook counts once and reads the remaining pages at once (for speed)."""
    active = list(qb_hook.query_all("Customer"))
    everything = list(qb_hook.query_all("Customer", include_inactive=True, page_size=5))
    ids = [r["Id"] for r in everything]
    assert len(ids) == len(set(ids)) == qb_hook.count("Customer", include_inactive=True)
    assert len(active) == qb_hook.count("Customer")
    assert len(everything) >= len(active) > 0
    assert all(r["Active"] for r in active)
    # n // 5 full pages and one short (possibly empty) page, plus the hook's COUNT after the
    # full first page; plus the first read's one page and the test's two COUNTs
    assert qb_hook.calls.snapshot()["query"] == 1 + (len(ids) // 5 + 1) + 1 + 2
    times = [r["MetaData"]["LastUpdatedTime"] for r in everything]
    assert times == sorted(times)


def test_given_a_window_when_query_window_then_only_records_updated_inside_it(
    qb_hook, qb_hook_fresh
):
    """api-notes 2.5: ``[start, end)`` on MetaData.LastUpdatedTime, explicit offsets."""
    before = list(qb_hook.query_all("Customer", include_inactive=True))
    created = qb_hook.create(
        "Customer", {"DisplayName": "Window Test Co"}, request_id=request_id_for("window-test")
    )
    stamp = dt.datetime.fromisoformat(created["MetaData"]["LastUpdatedTime"])
    inside = list(
        qb_hook.query_window(
            "Customer", stamp, stamp + dt.timedelta(seconds=1), include_inactive=True
        )
    )
    assert [r["Id"] for r in inside] == [created["Id"]]
    earlier = list(qb_hook.query_window("Customer", None, stamp, include_inactive=True))
    assert {r["Id"] for r in earlier} == {r["Id"] for r in before} - {created["Id"]}


def test_given_company_endpoints_when_read_then_company_info_and_preferences(qb_hook):
    """api-notes 2.11: CompanyInfo by realm id and Preferences answer through the hook."""
    info = qb_hook.company_info()
    prefs = qb_hook.preferences()
    assert info["Id"] and info.get("CompanyName")
    assert "CurrencyPrefs" in prefs or "SalesFormsPrefs" in prefs


def test_given_more_than_1000_customers_when_paged_then_every_record_once(qb_hook, qb_hook_fresh):
    """api-notes 2.5: paging past 1000 (the MAXRESULTS cap) returns every record exactly once,
    in ceil(n / 1000) pages plus the hook's COUNT (and the test's)."""
    qb_hook_fresh.reset("quickbooks", "1100")
    rows = list(qb_hook.query_all("Customer", include_inactive=True))
    ids = [r["Id"] for r in rows]
    assert len(ids) == len(set(ids)) == qb_hook.count("Customer", include_inactive=True) > 1100
    assert qb_hook.calls.snapshot()["query"] == math.ceil(len(ids) / 1000) + 1 + 1


def test_given_pages_after_a_full_first_one_when_read_then_they_overlap_and_come_back_in_order(
    make_qb_hook, qb_hook_env, in_flight
):
    """R-GEN-2 (a window's records, each once), api-notes 2.4/2.5, for speed: after a full
    first page one COUNT tells how many pages are
    left, and they are read ``parallel_reads`` (4) at a time, under the limiter; the records
    come back as one-at-a-time paging returns them (same order, each once). ``query_in``'s IN
    lists go 4 at a time too."""
    tokens = InMemoryTokenStore()  # one store: the first hook rotates the refresh token
    one_by_one = make_qb_hook(parallel_reads=1, token_store=tokens)
    expected = [
        r["Id"] for r in one_by_one.query_all("Customer", include_inactive=True, page_size=2)
    ]
    assert len(expected) > 10
    hook = make_qb_hook(token_store=tokens)
    seen = in_flight(hook, "query")
    qb_hook_env.set_latency("quickbooks", 400)  # wide enough to overlap on a busy machine
    try:
        got = [r["Id"] for r in hook.query_all("Customer", include_inactive=True, page_size=2)]
        assert got == expected
        assert seen.most == 4
        seen.most = 0
        wanted = [*expected, *(str(10**6 + i) for i in range(500))]  # 3 IN lists of 200
        found = [r["Id"] for r in hook.query_in("Customer", "Id", wanted, include_inactive=True)]
        assert sorted(found) == sorted(expected) and len(found) == len(expected)
        assert seen.most == 3
    finally:
        qb_hook_env.set_latency("quickbooks", 0)


def test_given_1005_new_customers_when_changes_read_then_cdc_cap_falls_back_to_a_window(
    make_qb_hook, qb_hook_fresh
):
    """api-notes 2.8/2.9: 1005 creates cost ceil(1005/30) batch calls; CDC answers its cap of
    1000 (shared by every entity of the call), so the hook reads the windows instead and
    returns all 1005 once. (Rate limits are
    lifted here on both sides: the next test covers them.)"""
    qb_hook_fresh.call("quickbooks", "POST", "throttle", {"enabled": False})
    hook = make_qb_hook(limiter=RateLimiter({"all": (100_000, 60.0)}))
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    results = hook.batch(
        [
            BatchOp(f"k{i}", "create", "Customer", {"DisplayName": f"Cap Co {i:04}"})
            for i in range(1005)
        ]
    )
    assert all(r.ok for r in results)
    assert hook.calls.snapshot()["batch"] == math.ceil(1005 / 30)
    changes = hook.changes(["Customer"], since)
    changed = [r["Id"] for r in changes["Customer"]]
    assert len(changed) == len(set(changed)) == 1005
    assert set(changed) == {r.entity["Id"] for r in results}
    calls = hook.calls.snapshot()
    assert calls["cdc"] == 1 and calls["query"] == 3  # the window query's two pages, a COUNT
    # The cap is shared by the entities of one call: none of them can be trusted complete.
    both = hook.changes(["Invoice", "Customer"], since)
    assert len({r["Id"] for r in both["Customer"]}) == 1005
    # + Customer's two pages and COUNT + Invoice's one page
    assert hook.calls.snapshot()["query"] == 3 + 3 + 1


def test_given_a_load_above_the_realm_limit_when_batched_then_it_waits_instead_of_failing(
    make_qb_hook, qb_hook_fresh
):
    """api-notes 2.4: with the realm at 100 requests/min (batch items count), 200 creates wait
    in the client-side limiter and the server refuses none. The limiter's clock is fake and
    moves the sandbox clock along, so a minute of waiting takes no real time."""
    admin = qb_hook_fresh
    admin.call("quickbooks", "POST", "throttle", {"per_minute": 100, "reset_windows": True})
    fake = {"now": 0.0}

    def sleep(seconds):
        fake["now"] += seconds
        admin.set_clock("quickbooks", advance_seconds=seconds + 0.01)

    limiter = RateLimiter(
        {"all": (100, 60.0), "batch": (40, 60.0)}, clock=lambda: fake["now"], sleep=sleep
    )
    hook = make_qb_hook(limiter=limiter)
    try:
        hook.count("Customer")
        results = hook.batch(
            [
                BatchOp(f"k{i}", "create", "Customer", {"DisplayName": f"Slow Co {i:03}"})
                for i in range(200)
            ]
        )
        assert all(r.ok for r in results)
        assert limiter.waited >= 120  # 201 units at 100/min
        assert admin.call("quickbooks", "GET", "throttle")["rejected"] == 0
        # three calls of 30 and one of 10 fill each minute of 100 (``chunk_sizes``)
        assert hook.calls.snapshot()["batch"] == len(chunk_sizes(200, 30, 100)) == 8
    finally:
        admin.set_clock("quickbooks", reset=True)


def test_given_a_deleted_invoice_when_changes_read_then_cdc_reports_it_deleted(
    qb_hook, qb_hook_fresh
):
    """api-notes 2.9: CDC returns changed records and deleted ones as ``status: Deleted``."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    customer = next(qb_hook.query_all("Customer", page_size=1))
    item = next(r for r in qb_hook.query_all("Item") if r.get("Type") == "Service")
    invoice = qb_hook.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [
                {
                    "Amount": 10,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "Qty": 1,
                        "UnitPrice": 10,
                    },
                }
            ],
        },
        request_id=request_id_for("cdc-test-invoice"),
    )
    qb_hook.delete("Invoice", invoice["Id"], invoice["SyncToken"])
    changes = qb_hook.changes(["Invoice", "Customer"], since)
    deleted = [r for r in changes["Invoice"] if r.get("status") == "Deleted"]
    assert [r["Id"] for r in deleted] == [invoice["Id"]]
    assert qb_hook.calls.snapshot()["cdc"] == 1


# -- writes --------------------------------------------------------------------------------


def test_given_65_creates_when_batched_then_ceil_65_over_30_calls_and_results_by_key(
    qb_hook, qb_hook_fresh
):
    """api-notes 2.8: 30 items per /batch call; one result per caller key, in input order."""
    ops = [
        BatchOp(f"sf-{i:03}", "create", "Customer", {"DisplayName": f"Batch Co {i:03}"})
        for i in range(65)
    ]
    results = qb_hook.batch(ops)
    assert [r.key for r in results] == [op.key for op in ops]
    assert all(r.ok and r.error is None for r in results)
    assert [r.entity["DisplayName"] for r in results] == [f"Batch Co {i:03}" for i in range(65)]
    assert qb_hook.calls.snapshot()["batch"] == math.ceil(65 / 30) == 3
    assert ops_counts(qb_hook_fresh)["batch"] == 3


def test_given_bad_records_in_a_batch_when_sent_then_failures_come_back_per_record(
    qb_hook, qb_hook_fresh
):
    """R-GEN-5, api-notes 2.8: a duplicate name and an invalid record fail alone, with their
    codes; the other records in the same call are created."""
    existing = next(qb_hook.query_all("Customer", page_size=1))["DisplayName"]
    ops = [
        BatchOp("ok-1", "create", "Customer", {"DisplayName": "Fine One"}),
        BatchOp("dup", "create", "Customer", {"DisplayName": existing}),
        BatchOp("bad", "create", "Customer", {"DisplayName": "x" * 501}),
        BatchOp("ok-2", "create", "Customer", {"DisplayName": "Fine Two"}),
    ]
    results = {r.key: r for r in qb_hook.batch(ops)}
    assert results["ok-1"].ok and results["ok-2"].ok
    assert isinstance(results["dup"].error, DuplicateNameError)
    assert results["dup"].error.code == 6240
    assert isinstance(results["bad"].error, ValidationError)
    assert results["bad"].error.code == 2050 and results["bad"].error.detail
    assert qb_hook.calls.snapshot()["batch"] == 1


def test_given_a_batch_call_failing_past_its_retries_when_sent_then_it_raises_with_partials(
    qb_hook, qb_hook_fresh
):
    """R-GEN-2/R-GEN-5: when a /batch call still fails after its retries, the hook stops
    sending and raises (the load fails, watermarks stay); the results of the calls that did
    complete ride on the error as ``partial_results``."""
    qb_hook.count("Customer")
    qb_hook_fresh.add_fault(
        "quickbooks", kind="http_503", path="/v3/company/[0-9]+/batch", skip=1, times=10
    )
    ops = [
        BatchOp(f"r{i:02}", "create", "Customer", {"DisplayName": f"Partial {i:02}"})
        for i in range(70)
    ]
    with pytest.raises(TransientError) as caught:
        qb_hook.batch(ops)
    partial = caught.value.partial_results
    assert [r.key for r in partial] == [op.key for op in ops[:30]]
    assert all(r.ok for r in partial)
    assert qb_hook.calls.snapshot()["batch"] == 1 + 4  # the third call was never sent


def test_given_the_connection_when_tested_then_the_company_is_named(qb_hook):
    """The Airflow UI's Test button: a refresh and a CompanyInfo read."""
    ok, message = qb_hook.test_connection()
    assert ok and "realm" in message


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_given_awkward_names_when_created_and_queried_then_they_round_trip(
    qb_hook, qb_hook_fresh, name
):
    """api-notes 2.5: apostrophes, quotes, backslashes, percent signs and unicode survive a
    create, an escaped ``=`` query and a read."""
    created = qb_hook.create(
        "Customer", {"DisplayName": name}, request_id=request_id_for("awkward", name)
    )
    found = list(qb_hook.query_all("Customer", [q.equals("DisplayName", name)]))
    assert [r["Id"] for r in found] == [created["Id"]]
    assert qb_hook.read("Customer", created["Id"])["DisplayName"] == name


def test_given_awkward_names_when_batch_created_then_they_round_trip(qb_hook, qb_hook_fresh):
    """The same names through /batch (the JSON body is sent as UTF-8)."""
    results = qb_hook.batch(
        [
            BatchOp(str(i), "create", "Customer", {"DisplayName": n})
            for i, n in enumerate(AWKWARD_NAMES)
        ]
    )
    assert [r.entity["DisplayName"] for r in results] == AWKWARD_NAMES
    rows = list(qb_hook.query_all("Customer", [q.in_("DisplayName", AWKWARD_NAMES)]))
    assert sorted(r["DisplayName"] for r in rows) == sorted(AWKWARD_NAMES)


def test_given_the_same_request_id_when_created_twice_then_one_record(qb_hook, qb_hook_fresh):
    """R-GEN-3, api-notes 2.10: a repeated create with the same requestid is replayed."""
    rid = request_id_for("0061234567890AB", "create")
    first = qb_hook.create("Customer", {"DisplayName": "Idempotent Ltd"}, request_id=rid)
    second = qb_hook.create("Customer", {"DisplayName": "Idempotent Ltd"}, request_id=rid)
    assert first["Id"] == second["Id"]
    assert qb_hook.count("Customer", [q.equals("DisplayName", "Idempotent Ltd")]) == 1


def test_given_a_stale_sync_token_when_updated_then_retried_only_if_allowed(qb_hook, qb_hook_fresh):
    """api-notes 2.7: a stale SyncToken is 5010; with allow_stale_retry the hook re-reads and
    applies the caller's fields once onto the fresh SyncToken."""
    record = qb_hook.create(
        "Customer", {"DisplayName": "Stale Test"}, request_id=request_id_for("stale-test")
    )
    qb_hook.update(
        "Customer", {"Id": record["Id"], "SyncToken": record["SyncToken"], "Notes": "first"}
    )
    stale = {"Id": record["Id"], "SyncToken": record["SyncToken"], "Notes": "second"}
    with pytest.raises(StaleObjectError) as caught:
        qb_hook.update("Customer", stale)
    assert caught.value.code == 5010
    updated = qb_hook.update("Customer", stale, allow_stale_retry=True)
    assert updated["Notes"] == "second" and updated["SyncToken"] == "2"
    assert updated["DisplayName"] == "Stale Test"  # sparse: nothing else was cleared


# -- faults and retries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("http_429", {"retry_after": 0.01}),
        ("http_500", {}),
        ("http_503", {}),
        ("throttle", {"retry_after": 0.01}),
        ("throttle_xml", {}),
        ("server_error", {}),
        ("drop", {}),
    ],
)
def test_given_a_retryable_fault_twice_when_querying_then_survived_in_three_attempts(
    qb_hook, qb_hook_env, kind, extra
):
    """api-notes 2.3/2.4: 429 (JSON 3001, XML, bare), 5xx and dropped connections are retried
    with back-off; two faults cost exactly three attempts."""
    qb_hook.count("Customer")  # get the token first: the fault then hits the query only
    qb_hook_env.add_fault("quickbooks", kind=kind, path=QUERY_PATH, times=2, **extra)
    assert qb_hook.count("Customer") > 0
    assert qb_hook.calls.snapshot()["query"] == 1 + 3
    assert ops_counts(qb_hook_env)[f"fault {kind}"] == 2


def test_given_a_hanging_server_when_querying_then_timeout_and_retry(make_qb_hook, qb_hook_env):
    """A hung request times out (read timeout) and is retried like a dropped connection."""
    hook = make_qb_hook(timeout=(5.0, 0.5))
    hook.count("Customer")
    qb_hook_env.add_fault("quickbooks", kind="hang", path=QUERY_PATH, times=1, delay_ms=1500)
    assert hook.count("Customer") > 0
    assert hook.calls.snapshot()["query"] == 1 + 2


def test_given_a_fault_that_persists_when_querying_then_transient_error_after_max_attempts(
    qb_hook, qb_hook_env
):
    """Retries are capped (4 attempts in the test policy); then the error surfaces."""
    qb_hook.count("Customer")
    qb_hook_env.add_fault("quickbooks", kind="http_503", path=QUERY_PATH, times=10)
    with pytest.raises(TransientError):
        qb_hook.count("Customer")
    assert qb_hook.calls.snapshot()["query"] == 1 + 4


@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [("stale_object", StaleObjectError, 5010), ("duplicate_name", DuplicateNameError, 6240)],
)
def test_given_a_record_fault_when_creating_then_raised_at_once_with_its_code(
    qb_hook, qb_hook_env, kind, error, code
):
    """api-notes 2.3: 5010 and 6240 are record errors: no retry, Intuit's code kept."""
    qb_hook.count("Customer")
    qb_hook_env.add_fault("quickbooks", kind=kind, path="/v3/company/[0-9]+/customer", times=1)
    with pytest.raises(error) as caught:
        qb_hook.create("Customer", {"DisplayName": "Never Created"}, request_id=None)
    assert caught.value.code == code
    assert qb_hook.calls.snapshot()["create.Customer"] == 1


def test_given_a_validation_error_when_creating_then_not_retried(qb_hook, qb_hook_fresh):
    """Validation errors are never retried: one attempt, code and detail surface."""
    with pytest.raises(ValidationError) as caught:
        qb_hook.create("Customer", {"DisplayName": "a:b"}, request_id=None)
    assert caught.value.code is not None and caught.value.detail
    assert qb_hook.calls.snapshot()["create.Customer"] == 1


def test_given_an_expired_access_token_when_calling_then_refreshed_once_and_succeeds(
    qb_hook, qb_hook_env
):
    """api-notes 1.2/2.3: a 401 (AuthorizationException) refreshes the token and builds a new
    client (the library fixes the token per client); the call then succeeds."""
    qb_hook.count("Customer")
    qb_hook_env.add_fault("quickbooks", kind="expired_token", path=QUERY_PATH, times=1)
    assert qb_hook.count("Customer") > 0
    calls = qb_hook.calls.snapshot()
    assert calls["token.refresh"] == 2 and calls["query"] == 1 + 2


def test_given_access_tokens_expired_server_side_when_calling_then_refreshed(qb_hook, qb_hook_env):
    """A token the server expired early (it still looks fresh locally) is replaced."""
    qb_hook.count("Customer")
    qb_hook_env.call("quickbooks", "POST", "expire-tokens")
    assert qb_hook.count("Customer") > 0
    assert qb_hook.calls.snapshot()["token.refresh"] == 2


def test_given_a_401_that_persists_when_calling_then_auth_error(qb_hook, qb_hook_env):
    """A second 401 right after a refresh is an AuthError, not a loop."""
    qb_hook.count("Customer")
    qb_hook_env.add_fault("quickbooks", kind="expired_token", path=QUERY_PATH, times=5)
    with pytest.raises(AuthError):
        qb_hook.count("Customer")
    assert qb_hook.calls.snapshot()["token.refresh"] == 2


# -- tokens --------------------------------------------------------------------------------


def test_given_a_rotated_token_when_a_new_hook_starts_then_it_uses_the_stored_token(
    make_qb_hook, qb_hook_env, airflow_db
):
    """R-OPS-4, api-notes 2.1.2: hook A rotates and saves to the Airflow Variable; hook B (a
    restart, same connection) uses the stored token and, after the server expires its access
    token, refreshes with the rotated refresh token: never the dead bootstrap one."""
    from airflow.models.variable import Variable

    bootstrap = qb_hook_env.qb_info["refresh_token"]
    first = make_qb_hook(token_store=AirflowVariableTokenStore("quickbooks_default"))
    assert first.count("Customer") > 0
    stored = json.loads(Variable.get(variable_key("quickbooks_default")))
    assert set(stored) == {
        "refresh_token",
        "access_token",
        "access_expires_at",
        "bootstrap_refresh_token",
        "refresh_expires_at",
        "generation",
        "refreshing",
    }
    assert stored["generation"] == 1 and stored["refreshing"] is None
    assert stored["bootstrap_refresh_token"] == bootstrap != stored["refresh_token"]

    second = make_qb_hook(token_store=AirflowVariableTokenStore("quickbooks_default"))
    assert second.count("Customer") > 0
    assert second.calls.snapshot().get("token.refresh", 0) == 0  # shared the access token
    qb_hook_env.call("quickbooks", "POST", "expire-tokens")
    assert second.count("Customer") > 0
    after = json.loads(Variable.get(variable_key("quickbooks_default")))
    assert after["refresh_token"] not in (bootstrap, stored["refresh_token"])
    assert ops_counts(qb_hook_env)["token.refresh_token"] == 2
    Variable.delete(variable_key("quickbooks_default"))


def test_given_a_dead_refresh_token_when_refreshing_then_auth_error_asks_to_reauthorise(
    make_qb_hook, qb_hook_env, tmp_path
):
    """api-notes 2.1.2: the bootstrap token was used elsewhere (another machine rotated it and
    kept the answer to itself: dead here): invalid_grant after re-reading the stores gives an
    AuthError that tells the operator how to reconnect."""
    make_qb_hook().count("Customer")  # another process rotates the bootstrap token away
    hook = make_qb_hook(
        token_store=InMemoryTokenStore(), token_dir=str(tmp_path), sleep=lambda s: None
    )
    with pytest.raises(AuthError, match="authorise it again"):
        hook.count("Customer")


def test_given_faults_and_refreshes_when_logs_captured_then_no_token_or_secret_appears(
    make_qb_hook, qb_hook_env, caplog, capsys
):
    """R-OPS-4: no access token, refresh token or client secret in any sfqb log line or
    error, and every one of them is registered with Airflow's secrets masker."""
    from airflow.sdk._shared.secrets_masker import redact

    caplog.set_level(logging.DEBUG)
    store = InMemoryTokenStore()
    hook = make_qb_hook(token_store=store)
    hook.count("Customer")
    seen = {store.state.access_token, store.state.refresh_token}
    qb_hook_env.add_fault("quickbooks", kind="expired_token", path=QUERY_PATH, times=1)
    qb_hook_env.add_fault("quickbooks", kind="throttle", path=QUERY_PATH, times=1, retry_after=0.01)
    hook.count("Customer")
    seen |= {store.state.access_token, store.state.refresh_token}
    qb_hook_env.add_fault("quickbooks", kind="expired_token", path=QUERY_PATH, times=5)
    with pytest.raises(AuthError) as caught:
        hook.count("Customer")
    secrets = seen | {qb_hook_env.qb_info["refresh_token"], qb_hook_env.qb_info["client_secret"]}
    assert len(secrets) == 6
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("sfqb", "intuitlib", "quickbooks"))
    )
    assert "refresh token rotated" in ours and "retrying" in ours  # the hook did log
    text = ours + capsys.readouterr().out + str(caught.value)
    for secret in secrets:
        assert secret not in text
        assert redact(f"x {secret} y") == "x *** y"


def _token_probe_dag(dag_id: str):
    """A one-task DAG that counts customers through a default QuickBooksHook (token state in
    the Airflow Variable, read and written through the Task SDK inside the task)."""
    from airflow.sdk import dag, task

    @dag(dag_id=dag_id, schedule=None, start_date=dt.datetime(2025, 1, 1), catchup=False)
    def probe():
        @task
        def count_customers() -> dict:
            from sfqb.hooks.quickbooks import QuickBooksHook
            from sfqb.hooks.retry import RetryPolicy
            from sfqb.hooks.token_store import in_task

            hook = QuickBooksHook(retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01))
            try:
                return {
                    "n": hook.count("Customer"),
                    "in_task": in_task(),
                    "refreshes": hook.calls.snapshot().get("token.refresh", 0),
                }
            finally:
                hook.close()

        count_customers()

    return probe()


def _serialized(dag, folder):
    """dag.test() runs only DAGs serialized in the metadata DB; this one lives in a test, so
    it is written there directly (as the DAG processor would)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(folder))
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag


@pytest.mark.integration
def test_given_two_task_runs_when_the_hook_runs_inside_tasks_then_the_variable_carries_tokens(
    qb_hook_env, airflow_db, tmp_path
):
    """R-OPS-4 inside Airflow: a task rotates the token and saves it to the Variable through
    the Task SDK, sealed (no token readable in it); the next run's task shares the stored access
    token (no refresh); after the server expires it, a third run refreshes with the rotated
    token, never the bootstrap."""
    from airflow.models.variable import Variable

    key = variable_key("quickbooks_default")
    results = []
    for run in range(3):
        if run == 2:
            qb_hook_env.call("quickbooks", "POST", "expire-tokens")
        dag_run = _serialized(_token_probe_dag("sfqb_test_qb_token_probe"), tmp_path).test()
        ti = next(iter(dag_run.get_task_instances()))
        assert ti.state == "success"
        results.append(ti.xcom_pull(task_ids="count_customers"))
        stored = Variable.get(key)
        assert stored.startswith(SEALED) and qb_hook_env.qb_info["refresh_token"] not in stored
        results[-1]["state"] = json.loads(unseal(stored, qb_hook_env.qb_info["refresh_token"]))
    try:
        assert all(r["in_task"] and r["n"] > 0 for r in results)
        assert [r["refreshes"] for r in results] == [1, 0, 1]
        first, second, third = (r["state"] for r in results)
        assert first == second
        assert first["bootstrap_refresh_token"] == qb_hook_env.qb_info["refresh_token"]
        assert (
            len(
                {
                    qb_hook_env.qb_info["refresh_token"],
                    first["refresh_token"],
                    third["refresh_token"],
                }
            )
            == 3
        )
        assert ops_counts(qb_hook_env)["token.refresh_token"] == 2
    finally:
        Variable.delete(key)


def test_given_a_before_call_refusing_writes_when_the_hook_writes_then_nothing_reaches_quickbooks(
    make_qb_hook, qb_hook_env
):
    """R-GEN-10: the hook asks ``before_call`` before every call whether it may go on (the run
    lease's check); a refused write (batch, create, update) is never sent, reads go on."""
    from sfqb.lease import LeaseLost

    asked = []

    def refuse_writes(write: bool) -> None:
        asked.append(write)
        if write:
            raise LeaseLost("this run lost the lease")

    hook = make_qb_hook(before_call=refuse_writes)
    customer = next(hook.query_all("Customer", page_size=1))
    with pytest.raises(LeaseLost):
        hook.batch([BatchOp("a", "create", "Customer", {"DisplayName": "Never Made"})])
    with pytest.raises(LeaseLost):
        hook.create("Customer", {"DisplayName": "Never Made"}, request_id=None)
    with pytest.raises(LeaseLost):
        hook.update(
            "Customer", {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "Notes": "x"}
        )
    assert asked == [False, True, True, True]
    assert qb_hook_env.counters("quickbooks")["writes"] == 0
