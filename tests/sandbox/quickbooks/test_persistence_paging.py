"""Data survives a restart; paging past 1000 rows (api-notes 2.5 pagination; the data directory)."""

from __future__ import annotations

import uuid

import pytest
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

from sfqb_sandbox.common import names

pytestmark = pytest.mark.sandbox


def test_given_data_and_tokens_when_sandbox_restarts_then_both_survive(
    tmp_path, monkeypatch, qbo_sandbox_type
):
    """The company, issued refresh tokens and the seed guard persist across a restart."""
    from sfqb_sandbox.admin_client import SandboxProcess

    QBOSandbox = qbo_sandbox_type  # noqa: N806 - a class

    process = SandboxProcess(tmp_path, seed="tiny", extra_args=["--only", "quickbooks"])
    sandbox = QBOSandbox(process.start())
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.admin.connections["ca_bundle"])
        qb = sandbox.client()
        kept = Customer()
        kept.DisplayName = f"Survivor {uuid.uuid4().hex[:6]}"
        kept = kept.save(qb=qb)
        refresh_token = qb.refresh_token
        sandbox.close_sessions()
    finally:
        process.stop()
    sandbox = QBOSandbox(process.start())  # same dir, --seed tiny again: must not re-seed
    try:
        qb = sandbox.client(refresh_token)
        assert Customer.get(kept.Id, qb=qb).DisplayName == kept.DisplayName
        assert Customer.count(qb=qb) == Customer.count("Active = true", qb=qb)
        assert len(Customer.filter(DisplayName=names.company_name(0), qb=qb)) == 1
        sandbox.close_sessions()
    finally:
        process.stop()


def test_given_thousands_of_customers_when_paging_then_every_row_once(qbo):
    """api-notes 2.5: MAXRESULTS 1000 pages with STARTPOSITION walk the whole list."""
    qbo.reset("2500")
    try:
        qb = qbo.client()
        total = Customer.count(qb=qb)
        assert total > 2500
        seen: list[str] = []
        start = 1
        while True:
            page = Customer.where(
                "Active IN (true, false)", start_position=start, max_results=1000, qb=qb
            )
            if not page:
                break
            assert len(page) <= 1000
            seen += [c.Id for c in page]
            start += len(page)
        assert len(seen) == len(set(seen)) == Customer.count("Active IN (true, false)", qb=qb)
        assert Invoice.count(qb=qb) > 2500
    finally:
        qbo.reset("tiny")
