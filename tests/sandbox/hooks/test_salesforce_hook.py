"""SfqbSalesforceHook against the Salesforce sandbox, through the real simple-salesforce and
the provider's SalesforceHook, over HTTPS, with the connection ``salesforce_default`` alone.

Covers: paging, windows and deletes; collections (per-record results, call counts); Bulk API
2.0; describe; awkward names round-tripping; every retryable fault survived with the right
number of attempts; non-retryable ones surfacing with their code; no secret in the logs.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

import pytest

from sfqb import soql
from sfqb.hooks.errors import (
    AuthError,
    NotFoundError,
    QuotaExceededError,
    SyncServiceError,
    TransientError,
)
from sfqb.hooks.retry import RetryPolicy
from sfqb.hooks.salesforce import SfqbSalesforceHook

pytestmark = pytest.mark.sandbox

EXT = "External_Account_ID__c"
FAR_PAST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
AWKWARD = [
    "O'Brien & Sons",
    'Back\\slash "Quoted" Ltd',
    "100% _Under_ Score",
    "Zürich – 東京 ☃ Café",
    "Trailing\\",
    "It's 50% off_today\\n",
]


def ops(admin) -> dict:
    return admin.counters("salesforce")["by_operation"]


# --- reads -------------------------------------------------------------------------------


def test_given_the_tiny_seed_when_reading_metadata_then_describe_layouts_pricebook_and_limits(
    sf_hook,
):
    """api-notes 3.8, 3.10, 3.11; R-PRE-3, R-PRE-4: describe, describe/layouts, the standard
    price book and limits, one call each."""
    describe = sf_hook.describe("Account")
    assert EXT in {f["name"] for f in describe["fields"] if f.get("externalId")}
    layouts = sf_hook.describe_layouts("Account")
    assert layouts["layouts"], "Account has one record type, so layouts are listed"
    book = sf_hook.standard_pricebook()
    assert book is not None and book["IsActive"] is True and book["Id"].startswith("01s")
    assert sf_hook.limits()["DailyApiRequests"]["Max"] > 0
    calls = sf_hook.calls.snapshot()
    assert calls == {"describe": 1, "describe.layouts": 1, "query": 1, "limits": 1, "login": 1}


def test_given_more_than_2000_records_when_querying_a_window_then_each_comes_back_once(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.4, 3.6; R-GEN-2: 2,050 accounts written as collections of 200 (exactly
    ceil(n/200) calls), then read back through one query and one queryMore: every record
    once, in SystemModstamp order, without ``attributes``."""
    n = 2050
    records = [{"Name": f"Paging Test {i:05d}", EXT: f"PG-{i:05d}"} for i in range(n)]
    results = sf_hook.create("Account", records, key_field=EXT)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    assert [r.key for r in results] == [r[EXT] for r in records]
    assert sf_hook.calls.snapshot()["collections.create"] == math.ceil(n / 200)
    assert ops(sf_hook_fresh)["collections.create"] == math.ceil(n / 200)

    rows = list(
        sf_hook.query_window("Account", ["Id", "Name", "SystemModstamp"], FAR_PAST, FAR_FUTURE)
    )
    ids = [r["Id"] for r in rows]
    assert len(ids) == len(set(ids)) == n + 14  # plus the tiny seed's 14 accounts
    assert {r.id for r in results} <= set(ids)
    assert all("attributes" not in r for r in rows)
    stamps = [r["SystemModstamp"] for r in rows]
    assert stamps == sorted(stamps)
    assert ops(sf_hook_fresh)["query"] == 1 and ops(sf_hook_fresh)["queryMore"] == 1


def test_given_many_ids_when_querying_by_a_list_then_the_cheaper_of_in_lists_and_one_read_is_used(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.4; R-GEN-2 at scale: a few ids go out as ``IN (...)`` queries; thousands of
    ids against few candidate records cost one COUNT() and one read, filtered locally; both
    return exactly the records asked for."""
    created = sf_hook.create(
        "Account",
        [{"Name": f"In List {i:03d}", EXT: f"IL-{i:03d}"} for i in range(30)],
        key_field=EXT,
    )
    wanted = [f"IL-{i:03d}" for i in range(0, 30, 3)]
    few = list(sf_hook.query_in("Account", ["Id", EXT], EXT, wanted))
    assert sorted(r[EXT] for r in few) == wanted
    assert sf_hook.calls.snapshot().get("query") == 1  # one IN query

    many = wanted + [f"QB-{i:05d}" for i in range(3000)]  # ids of records Salesforce does not have
    before = sf_hook.calls.snapshot().get("query", 0)
    rows = list(sf_hook.query_in("Account", ["Id", EXT], EXT, many))
    assert sorted(r[EXT] for r in rows) == wanted
    assert {r["Id"] for r in rows} <= {r.id for r in created}
    assert sf_hook.calls.snapshot()["query"] - before == 2  # COUNT() + one page, not 7 IN queries


def test_given_a_window_when_querying_then_only_records_stamped_inside_it_return(
    sf_hook, sf_hook_fresh
):
    """R-GEN-2, api-notes 3.3: the window is half-open [start, end) on SystemModstamp; with
    include_deleted, queryAll also returns deleted records (IsDeleted = true)."""
    admin = sf_hook_fresh
    admin.set_clock("salesforce", now="2030-01-01T10:00:00Z", frozen=True)
    first = sf_hook.create("Account", [{"Name": "Window In"}])[0]
    admin.set_clock("salesforce", now="2030-01-01T11:00:00Z", frozen=True)
    second = sf_hook.create("Account", [{"Name": "Window Out"}])[0]
    start = dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC)
    end = dt.datetime(2030, 1, 1, 11, tzinfo=dt.UTC)
    inside = list(sf_hook.query_window("Account", ["Id", "Name"], start, end))
    assert [r["Id"] for r in inside] == [first.id]

    deleted = sf_hook.delete([first.id])
    assert deleted[0].ok and deleted[0].key == first.id
    later = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    assert [r["Id"] for r in sf_hook.query_window("Account", ["Id"], start, later)] == [second.id]
    with_deleted = list(
        sf_hook.query_window("Account", ["Id", "IsDeleted"], start, later, include_deleted=True)
    )
    assert {r["Id"]: r["IsDeleted"] for r in with_deleted} == {first.id: True, second.id: False}
    assert sf_hook.calls.snapshot()["queryAll"] == 1


def test_given_awkward_names_when_written_and_queried_then_they_round_trip(sf_hook, sf_hook_fresh):
    """api-notes 3.3 escapes: apostrophes, quotes, backslashes, percent signs, underscores and
    unicode survive a write and an exact-match query; LIKE treats % and _ literally."""
    records = [{"Name": name, EXT: f"EXT-{name}"} for name in AWKWARD]
    results = sf_hook.upsert("Account", records, ext_id_field=EXT)
    assert all(r.ok and r.created for r in results)
    for name, result in zip(AWKWARD, results, strict=True):
        found = list(
            sf_hook.query(soql.select("Account", ["Id", "Name", EXT], where=soql.eq("Name", name)))
        )
        assert [(r["Id"], r["Name"], r[EXT]) for r in found] == [(result.id, name, f"EXT-{name}")]
    percent = list(
        sf_hook.query(soql.select("Account", ["Name"], where=soql.contains("Name", "50% off_")))
    )
    assert [r["Name"] for r in percent] == ["It's 50% off_today\\n"]
    again = sf_hook.upsert("Account", records, ext_id_field=EXT)
    assert [r.created for r in again] == [False] * len(AWKWARD)
    assert [r.id for r in again] == [r.id for r in results]


# --- writes ------------------------------------------------------------------------------


def test_given_money_when_written_and_read_then_it_stays_an_exact_decimal(sf_hook, sf_hook_fresh):
    """Money is never a float: Decimals go out as exact JSON numbers and come back as Decimal
    (the hook reads JSON fractions as Decimal)."""
    from decimal import Decimal

    created = sf_hook.create("Account", [{"Name": "Money", "AnnualRevenue": Decimal("1234.56")}])
    assert created[0].ok, created[0].errors
    row = next(
        sf_hook.query(soql.select("Account", ["AnnualRevenue"], where=soql.eq("Id", created[0].id)))
    )
    assert row["AnnualRevenue"] == Decimal("1234.56")
    assert isinstance(row["AnnualRevenue"], Decimal)


def test_given_some_bad_records_when_creating_then_results_come_back_per_record(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.6; R-GEN-5: allOrNone false: good records are written, bad ones come back
    with their statusCode, message and fields, keyed to the caller's records."""
    records = [
        {"Name": "Good One", EXT: "K1"},
        {EXT: "K2"},  # no Name
        {"Name": "Good Two", EXT: "K3"},
        {"Name": "Dup", EXT: "K1"},  # External IDs are unique
    ]
    results = sf_hook.create("Account", records, key_field=EXT)
    by_key = [(r.key, r.ok, r.error_codes) for r in results]
    assert by_key == [
        ("K1", True, []),
        ("K2", False, ["REQUIRED_FIELD_MISSING"]),
        ("K3", True, []),
        ("K1", False, ["DUPLICATE_VALUE"]),
    ]
    assert results[1].errors[0].fields == ["Name"]
    assert results[0].id.startswith("001") and results[1].id is None
    assert sf_hook.calls.snapshot()["collections.create"] == 1


def test_given_a_plain_load_when_upserting_and_updating_then_calls_are_ceil_n_over_200(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.6: upserts and updates of n records take exactly ceil(n / 200) calls."""
    n = 450
    records = [{"Name": f"Load {i}", EXT: f"L-{i}"} for i in range(n)]
    created = sf_hook.upsert("Account", records, ext_id_field=EXT)
    assert all(r.ok and r.created for r in created)
    updated = sf_hook.update("Account", [{"Id": r.id, "Phone": "555"} for r in created])
    assert all(r.ok for r in updated) and [r.key for r in updated] == [r.id for r in created]
    expected = math.ceil(n / 200)
    assert sf_hook.calls.snapshot()["collections.upsert"] == expected
    assert sf_hook.calls.snapshot()["collections.update"] == expected
    counters = ops(sf_hook_fresh)
    assert counters["collections.upsert.Account"] == expected
    assert counters["collections.update"] == expected


def test_given_a_load_of_several_collections_when_upserting_then_calls_overlap_and_results_keep_order(
    sf_hook, sf_hook_fresh, in_flight
):
    """R-GEN-3 (only repeatable writes overlap), api-notes 3.6, for speed: the 200-record calls
    of one upsert, update or delete go up to
    ``parallel_calls`` (4) at once, each still one call of at most 200; the results come
    back one per record in input order, and every record is written once. Creates go one call
    at a time (a create is not repeatable)."""
    sf_hook.connect()
    seen = in_flight(sf_hook.session, "request")
    sf_hook_fresh.set_latency("salesforce", 400)  # wide enough to overlap on a busy machine
    try:
        records = [{"Name": f"Wide {i}", EXT: f"W-{i}"} for i in range(1000)]
        created = sf_hook.upsert("Account", records, ext_id_field=EXT)
        assert [r.key for r in created] == [f"W-{i}" for i in range(1000)]
        assert all(r.ok and r.created for r in created)
        assert seen.most == 4 and len(seen.threads) == 4
        seen.most = 0
        updated = sf_hook.update("Account", [{"Id": r.id, "Phone": "555"} for r in created])
        assert [r.key for r in updated] == [r.id for r in created] and all(r.ok for r in updated)
        assert seen.most == 4
        seen.most = 0
        made = sf_hook.create("Contact", [{"LastName": f"One {i}"} for i in range(450)])
        assert all(r.ok for r in made) and [r.key for r in made] == list(range(450))
        assert seen.most == 1
        seen.most = 0
        deleted = sf_hook.delete([r.id for r in made])
        assert [r.key for r in deleted] == [r.id for r in made] and all(r.ok for r in deleted)
        assert seen.most == 3  # 450 ids: three calls, all at once
    finally:
        sf_hook_fresh.set_latency("salesforce", 0)
    assert sf_hook.calls.snapshot()["collections.upsert"] == 5
    assert sf_hook.calls.snapshot()["collections.create"] == 3
    found = list(sf_hook.query(soql.select("Account", ["Id"], where=soql.like(EXT, "W-%"))))
    assert len(found) == 1000


def test_given_one_worker_when_upserting_a_load_then_calls_go_one_at_a_time(
    sf_env_hook_one, in_flight
):
    """The ``parallel_calls=1`` setting sends the calls of a load one after another."""
    hook, admin = sf_env_hook_one
    hook.connect()
    seen = in_flight(hook.session, "request")
    records = [{"Name": f"Narrow {i}", EXT: f"N-{i}"} for i in range(450)]
    assert all(r.ok for r in hook.upsert("Account", records, ext_id_field=EXT))
    assert seen.most == 1 and hook.calls.snapshot()["collections.upsert"] == 3


@pytest.fixture
def sf_env_hook_one(sf_hook_fresh):
    hook = SfqbSalesforceHook(
        retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01),
        parallel_calls=1,
        timeout=(5.0, 10.0),
    )
    yield hook, sf_hook_fresh
    hook.session.close()


def test_given_the_bulk_path_when_loading_and_querying_then_results_map_back_per_record(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.12: Bulk API 2.0 upsert with a failing row maps success and failure CSVs
    back to the inputs; a counted window above the threshold is read by a bulk query."""
    records = [{"Name": f"Bulk {i}", EXT: f"B-{i}"} for i in range(30)]
    records[7] = {"Name": "", EXT: "B-7"}  # Name required
    results = sf_hook.upsert("Account", records, ext_id_field=EXT, bulk=True)
    assert [r.key for r in results] == [r[EXT] for r in records]
    assert [r.ok for r in results].count(False) == 1 and not results[7].ok
    assert results[7].error_codes == ["REQUIRED_FIELD_MISSING"]
    assert all(r.created for i, r in enumerate(results) if i != 7)
    assert sf_hook.calls.snapshot()["bulk2.ingest.upsert"] == 1
    bulk_requests = sum(v for k, v in ops(sf_hook_fresh).items() if k.startswith("bulk2."))
    assert sf_hook.http_requests == 1 + bulk_requests  # the login, then the job's requests

    sf_hook.bulk_threshold = 5
    rows = list(
        sf_hook.query_window(
            "Account",
            ["Id", "Name", EXT],
            FAR_PAST,
            FAR_FUTURE,
            where=soql.like(EXT, "B-%"),
            count_first=True,
        )
    )
    assert sorted(r["Id"] for r in rows) == sorted(r.id for r in results if r.ok)
    assert sf_hook.calls.snapshot()["bulk2.query"] == 1

    gone = sf_hook.bulk_delete("Account", [r.id for r in results if r.ok])
    assert all(r.ok for r in gone) and len(gone) == 29


def test_given_a_bulk_insert_without_keys_when_loading_then_rows_map_back_by_position(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.12: a Bulk API 2.0 insert (never repeated) maps its result CSVs back to the
    input rows by their values when the caller gives no key; a bad row fails alone."""
    records = [
        {"Name": "Bulk Insert A", "Phone": "1"},
        {"Name": "", "Phone": "2"},
        {"Name": 'Bulk Insert C, "quoted"', "Phone": "3"},
    ]
    results = sf_hook.create("Account", records, bulk=True)
    assert [(r.key, r.ok) for r in results] == [(0, True), (1, False), (2, True)]
    assert results[1].error_codes == ["REQUIRED_FIELD_MISSING"]
    names = {
        r["Id"]: r["Name"]
        for r in sf_hook.query(
            soql.select("Account", ["Id", "Name"], where=soql.like("Name", "Bulk Insert%"))
        )
    }
    assert names == {results[0].id: "Bulk Insert A", results[2].id: 'Bulk Insert C, "quoted"'}
    assert sf_hook.calls.snapshot()["bulk2.ingest.insert"] == 1


def _kids_and_parent(hook, *, bulk: bool) -> tuple[str, list[dict]]:
    parent = hook.upsert("Account", [{"Name": "Parent Co", EXT: "P-1"}], ext_id_field=EXT)[0]
    kids = [{"Name": f"Kid {i}", EXT: f"K-{i}", "Parent": {EXT: "P-1"}} for i in range(2)]
    assert all(r.ok for r in hook.upsert("Account", kids, ext_id_field=EXT, bulk=bulk))
    rows = list(
        hook.query(
            soql.select(
                "Account",
                ["Name", "ParentId", "Parent." + EXT],
                where=soql.like(EXT, "K-%"),
                order_by="Name",
            )
        )
    )
    return parent.id, rows


def test_given_parent_references_by_external_id_when_bulk_upserting_then_they_link(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.12: a nested parent reference ``{"Parent": {Ext: v}}`` becomes the Bulk CSV
    column ``Parent.Ext`` and links the parent."""
    parent_id, rows = _kids_and_parent(sf_hook, bulk=True)
    assert rows == [
        {"Name": f"Kid {i}", "ParentId": parent_id, "Parent": {EXT: "P-1"}} for i in range(2)
    ]


def test_given_parent_references_by_external_id_when_upserting_collections_then_they_link(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.5.1: REST bodies name a parent by External ID with a nested reference."""
    parent_id, rows = _kids_and_parent(sf_hook, bulk=False)
    assert rows == [
        {"Name": f"Kid {i}", "ParentId": parent_id, "Parent": {EXT: "P-1"}} for i in range(2)
    ]


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "http_500"}, 500),
        ({"kind": "http_503"}, 503),
        ({"kind": "http_429"}, 429),
        ({"kind": "server_error"}, "UNKNOWN_EXCEPTION"),
        ({"kind": "unable_to_lock_row"}, "UNABLE_TO_LOCK_ROW"),
        ({"kind": "drop"}, "ConnectionError"),
        ({"kind": "status", "status": 502}, 502),
    ],
)
def test_given_a_retryable_fault_when_querying_then_the_hook_survives_with_one_retry_each(
    sf_hook, sf_hook_env, fault, code, caplog
):
    """Retries: 5xx, 429, UNABLE_TO_LOCK_ROW and dropped connections are retried; two
    injected faults mean three attempts, and the third answers."""
    sf_hook_env.add_fault("salesforce", path=r"/services/data/v[\d.]+/query", times=2, **fault)
    with caplog.at_level(logging.WARNING, logger="sfqb.hooks.retry"):
        rows = list(sf_hook.query("SELECT Id FROM Account"))
    assert len(rows) == 14
    assert sf_hook.calls.snapshot()["query"] == 3
    assert ops(sf_hook_env)[f"fault {fault['kind']}"] == 2
    assert str(code) in caplog.text


def test_given_a_hanging_server_when_querying_then_the_timeout_is_retried(sf_hook_env):
    """A hang beyond the read timeout is a TransientError, retried like a 5xx."""
    hook = SfqbSalesforceHook(
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0.01), timeout=(5.0, 0.5)
    )
    try:
        hook.limits()  # log in first: the fault targets the query only
        sf_hook_env.add_fault("salesforce", kind="hang", path="/query", times=1, delay_ms=1500)
        assert len(list(hook.query("SELECT Id FROM Account"))) == 14
        assert hook.calls.snapshot()["query"] == 2
    finally:
        hook.session.close()


def test_given_a_lock_fault_on_a_collection_when_upserting_then_only_the_locked_rows_repeat(
    sf_hook, sf_hook_fresh
):
    """UNABLE_TO_LOCK_ROW per record inside a 200 answer: the hook sends those records again
    and every record ends up written once."""
    sf_hook_fresh.add_fault(
        "salesforce", kind="unable_to_lock_row", path="/composite/sobjects/Account", times=1
    )
    records = [{"Name": f"Locked {i}", EXT: f"LK-{i}"} for i in range(5)]
    results = sf_hook.upsert("Account", records, ext_id_field=EXT)
    assert all(r.ok for r in results)
    assert sf_hook.calls.snapshot()["collections.upsert"] == 2
    found = list(sf_hook.query(soql.select("Account", ["Id"], where=soql.like(EXT, "LK-%"))))
    assert len(found) == 5


def test_given_an_expired_session_when_querying_then_the_hook_logs_in_again(sf_hook, sf_hook_env):
    """api-notes 3.1.3: a 401 INVALID_SESSION_ID is fixed by logging in again (simple-
    salesforce's own re-login for REST, the hook's rebuild when that runs out or for bulk)."""
    sf_hook.limits()
    sf_hook_env.add_fault("salesforce", kind="expired_session", path="/query", times=5)
    assert len(list(sf_hook.query("SELECT Id FROM Account"))) == 14
    calls = sf_hook.calls.snapshot()
    assert calls["query"] == 2  # the library gives up after its re-logins; the hook rebuilds
    # first login; the library logs in again on each of 4 401s (then gives up); the hook's
    # rebuild logs in; the 5th 401 is fixed by one more library re-login.
    assert calls["login"] == 1 + 4 + 1 + 1
    sf_hook_env.add_fault("salesforce", kind="expired_session", path="/jobs/query", times=1)
    assert len(list(sf_hook.query_bulk("SELECT Id FROM Account"))) == 14
    sf_hook_env.add_fault("salesforce", kind="expired_session", path="/query", times=None)
    with pytest.raises(AuthError) as caught:
        list(sf_hook.query("SELECT Id FROM Account"))
    assert "salesforce_default" in str(caught.value)


def test_given_a_direct_session_when_it_expires_then_auth_error_names_the_connection(sf_hook_env):
    """api-notes 1.3 (A): a direct session id cannot be renewed: AuthError naming the
    connection, without retries."""
    token = sf_hook_env.connections["salesforce"]["access_token"]
    hook = SfqbSalesforceHook(session_id=token)
    try:
        assert len(list(hook.query("SELECT Id FROM Account"))) == 14
        assert not hook.can_log_in_again
        sf_hook_env.add_fault("salesforce", kind="expired_session", path="/query", times=1)
        with pytest.raises(AuthError) as caught:
            list(hook.query("SELECT Id FROM Account"))
        assert "salesforce_default" in str(caught.value) and "direct session" in str(caught.value)
        assert token not in str(caught.value)
        assert hook.calls.snapshot()["query"] == 2
    finally:
        hook.session.close()


def test_given_the_daily_quota_is_spent_when_calling_then_the_run_stops_without_retrying(
    sf_hook, sf_hook_env
):
    """api-notes 3.10/3.13: 403 REQUEST_LIMIT_EXCEEDED is a QuotaExceededError at the first
    attempt; its message says the watermark is kept (R-GEN-2)."""
    sf_hook_env.add_fault("salesforce", kind="request_limit", path="/query", times=1)
    with pytest.raises(QuotaExceededError) as caught:
        list(sf_hook.query("SELECT Id FROM Account"))
    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert "watermark is kept" in str(caught.value)
    assert sf_hook.calls.snapshot()["query"] == 1


def test_given_non_retryable_errors_when_calling_then_they_surface_with_their_code(
    sf_hook, sf_hook_env
):
    """A bad query is INVALID_FIELD at once; an injected 404 is a NotFoundError at once; a 5xx
    that never stops surfaces as a TransientError after the policy's attempts (4 here)."""
    with pytest.raises(SyncServiceError) as bad:
        list(sf_hook.query("SELECT Nope__c FROM Account"))
    assert bad.value.code == "INVALID_FIELD" and not isinstance(bad.value, TransientError)
    assert sf_hook.calls.snapshot()["query"] == 1
    sf_hook_env.add_fault(
        "salesforce",
        kind="status",
        status=404,
        path="/describe",
        times=1,
        body=[{"errorCode": "NOT_FOUND", "message": "gone"}],
    )
    with pytest.raises(NotFoundError) as missing:
        sf_hook.describe("Account")
    assert missing.value.code == "NOT_FOUND" and sf_hook.calls.snapshot()["describe"] == 1
    sf_hook_env.add_fault("salesforce", kind="http_503", path="/limits", times=None)
    with pytest.raises(TransientError) as down:
        sf_hook.limits()
    assert down.value.code == 503
    assert sf_hook.calls.snapshot()["limits"] == 4


def test_given_faults_and_relogins_when_logs_are_captured_then_no_secret_appears(
    sf_hook, sf_hook_env, caplog, capsys
):
    """R-OPS-4: no access token, password, security token or consumer secret in any log line
    (DEBUG included: urllib3, simple-salesforce, the hook, retries) or error message."""
    info = sf_hook_env.connections["salesforce"]
    caplog.set_level(logging.DEBUG)
    sf_hook_env.add_fault("salesforce", kind="expired_session", path="/query", times=5)
    sf_hook_env.add_fault("salesforce", kind="http_503", path="/limits", times=1)
    list(sf_hook.query("SELECT Id, Name FROM Account"))
    sf_hook.limits()
    tokens = {sf_hook.conn.session_id}
    sf_hook_env.add_fault("salesforce", kind="request_limit", path="/query", times=1)
    with pytest.raises(QuotaExceededError) as caught:
        list(sf_hook.query("SELECT Id FROM Account"))
    text = caplog.text + capsys.readouterr().out + str(caught.value)
    assert "Salesforce" in caplog.text  # the hook did log
    secrets = tokens | {
        info["password"],
        info["security_token"],
        info["consumer_secret"],
        info["access_token"],
    }
    for secret in secrets:
        assert secret not in text
    from airflow.sdk.log import redact

    for token in tokens:  # registered with Airflow's masker, so task logs redact it too
        assert redact(f"Bearer {token}") == "Bearer ***"


@pytest.mark.slow
def test_given_loads_either_side_of_the_bulk_threshold_when_upserting_then_the_path_switches(
    sf_hook, sf_hook_fresh
):
    """api-notes 3.6/3.12: 10,000 records are 50 collection calls; 10,001 are one Bulk API 2.0
    job (about 6 requests instead of 51). A few seconds against the sandbox on 2 cores."""
    n = sf_hook.bulk_threshold
    records = [{"Name": f"Threshold {i}", EXT: f"T-{i}"} for i in range(n + 1)]
    first = sf_hook.upsert("Account", records[:n], ext_id_field=EXT)
    assert all(r.ok for r in first)
    assert sf_hook.calls.snapshot()["collections.upsert"] == n // 200
    second = sf_hook.upsert("Account", records, ext_id_field=EXT)
    assert all(r.ok for r in second)
    assert [r.created for r in second].count(True) == 1
    assert [r.id for r in second[:n]] == [r.id for r in first]
    calls = sf_hook.calls.snapshot()
    assert calls["bulk2.ingest.upsert"] == 1 and calls["collections.upsert"] == n // 200


def test_given_a_before_call_refusing_writes_when_the_hook_writes_then_nothing_reaches_salesforce(
    sf_hook_env,
):
    """R-GEN-10: the hook asks ``before_call`` before every call whether it may go on (the run
    lease's check); a refused write (collections, Bulk API) is never sent, reads go on."""
    from sfqb.lease import LeaseLost

    asked = []

    def refuse_writes(write: bool) -> None:
        asked.append(write)
        if write:
            raise LeaseLost("this run lost the lease")

    hook = SfqbSalesforceHook(
        before_call=refuse_writes, retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01)
    )
    try:
        (account,) = hook.query(soql.select("Account", ["Id"], limit=1))
        with pytest.raises(LeaseLost):
            hook.update("Account", [{"Id": account["Id"], "Description": "x"}])
        with pytest.raises(LeaseLost):
            hook.create("Account", [{"Name": f"Never Made {n}"} for n in range(3)], bulk=True)
    finally:
        hook.session.close()
    assert asked[0] is False and asked.count(True) == 2  # the bulk insert reads the limits first
    assert sf_hook_env.counters("salesforce")["writes"] == 0
