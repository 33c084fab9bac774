"""The Airflow UI walked in a real browser, as a data engineer uses it (R-OPS-1, R-OPS-2).

Airflow runs as ``make ui`` runs it (api-server, dag-processor and scheduler on the
LocalExecutor: ``tests/integration/deployment.py``) against the sandbox servers, and Playwright
drives Debian's Chromium (``scripts/install-browser.sh`` installs it; Playwright's own browser
download cannot work without the internet). ``make test-ui`` runs this file; ``make test``
leaves it out (marker ``ui``).

On a failure the page is saved as a screenshot (and its HTML) under ``test-results/ui/``; a
passing run saves the sync log screenshot docs/operations.md shows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from tests.integration.conftest import SINCE_SEED
from tests.integration.deployment import LocalDeployment, run_state

pytestmark = [pytest.mark.ui, pytest.mark.integration, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-results" / "ui"
CHROMIUM = os.environ.get("SFQB_CHROMIUM", "/usr/bin/chromium")
# Chromium as root in a container, offline: no sandbox, no GPU, and none of the background
# connections this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BAD_NAME = "Colon: Trading"  # QuickBooks refuses ':' in a customer name: one warning


@pytest.fixture
def page(request):
    """A headless Chromium page; its screenshot and HTML are kept when the test fails."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run scripts/install-browser.sh (make test-ui does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(60_000)
        try:
            yield tab
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is None or report.failed:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                name = request.node.name[:80]
                tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(tab.content())
            browser.close()


@pytest.fixture
def ui(sync_env, tmp_path):
    """Airflow's UI over this test's database and the sandbox, with both sfqb DAGs parsed."""
    from airflow.configuration import conf
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        for name in ("sfqb_quickbooks", "sfqb_salesforce"):
            Pool.create_or_update_pool(
                name=name, slots=4, description="test", include_deferred=False, session=session
            )
    env = {
        **os.environ,
        "AIRFLOW__CORE__FERNET_KEY": conf.get("core", "fernet_key", fallback=""),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path / "logs"),
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "false",
    }
    with LocalDeployment(tmp_path, env) as airflow:
        airflow.wait_parsed("sfqb_sync", "sfqb_invoice_migration")
        yield airflow


def newest_run(dag_id: str) -> str:
    from airflow.models.dagrun import DagRun

    runs = sorted(DagRun.find(dag_id=dag_id), key=lambda r: r.id)
    assert runs, f"no run of {dag_id}"
    return runs[-1].run_id


def trigger_from_form(page, airflow, dag_id: str, fill) -> str:
    """Open the DAG, press Trigger, let ``fill(dialog)`` set the form, submit; the new run's id."""
    page.goto(f"{airflow.url}/dags/{dag_id}", wait_until="networkidle")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.locator("[role=dialog][data-state=open]")
    dialog.get_by_text("Run Parameters").wait_for()
    fill(dialog)
    dialog.get_by_role("button", name="Trigger").click()
    airflow.wait(f"a run of {dag_id}", lambda: _has_run(dag_id), 60)
    return newest_run(dag_id)


def _has_run(dag_id: str) -> bool:
    from airflow.models.dagrun import DagRun

    return bool(DagRun.find(dag_id=dag_id))


def wait_done(airflow, dag_id: str, run_id: str) -> None:
    """Until the run ends; fails naming its failed tasks and the end of their logs."""
    from airflow.models.dagrun import DagRun

    airflow.wait(
        f"{dag_id} {run_id}",
        lambda: run_state(run_id, dag_id) in ("success", "failed"),
        900,
    )
    if run_state(run_id, dag_id) == "success":
        return
    (run,) = DagRun.find(dag_id=dag_id, run_id=run_id)
    failed = [ti.task_id for ti in run.get_task_instances() if ti.state == "failed"]
    logs = sorted((airflow.folder / "logs").rglob("*"))
    tails = {
        str(p.relative_to(airflow.folder)): p.read_text(errors="replace")[-3000:]
        for p in logs
        if p.is_file() and any(f"task_id={t}" in str(p) for t in failed)
    }
    scheduler = airflow.outputs()["scheduler output"][-3000:]
    pytest.fail(
        f"{dag_id} {run_id} failed; failed tasks {failed}; their logs: {tails}; "
        f"the scheduler's output ends: {scheduler}"
    )


def sync_log_frame(page, airflow, dag_id: str, run_id: str):
    """The run's page, its "Sync log" tab opened: the frame that shows sfqb's page."""
    page.goto(f"{airflow.url}/dags/{dag_id}/runs/{run_id}", wait_until="networkidle")
    page.get_by_role("tab", name="Sync log").or_(page.get_by_text("Sync log")).first.click()
    page.locator("iframe").first.wait_for()
    frame = page.frame_locator("iframe").first
    frame.locator("body").wait_for()
    return frame


@pytest.mark.timeout(1800)  # three Airflow processes start; two runs go through the scheduler
def test_given_the_ui_when_a_sync_and_a_migration_dry_run_are_triggered_then_the_sync_log_tells_both(
    sync_env, ui, page
):
    """R-OPS-1, R-OPS-2: a data engineer triggers sfqb_sync from the Trigger form with two
    areas chosen in its multi-select, the run succeeds, and its Sync log tab shows the counts of
    those areas only and the warning about the one Account QuickBooks refused (the text filter
    hides and shows it); then the migration's dry run, triggered from its form (a required
    date, the dry-run switch), says in the sync log that nothing was written and how many
    invoices a real run would write."""
    sync_env.set_preferences(sync_start=SINCE_SEED)
    sf = sync_env.sf()
    (account,) = sf.create("Account", [{"Name": BAD_NAME}])
    (opp,) = sf.create(
        "Opportunity",
        [
            {
                "Name": f"{BAD_NAME} deal",
                "AccountId": account.id,
                "StageName": "Closed Won",
                "CloseDate": "2026-11-01",
            }
        ],
    )
    assert account.ok and opp.ok

    def sync_form(dialog) -> None:
        # "Areas to run" is a multi-select with every area chosen: keep items and customers.
        areas = dialog.locator("#element_areas")
        for area in ("Opportunities", "Transactions", "Invoices"):
            areas.locator(f"[aria-label^='Remove {area}:']").click()
        chosen = areas.locator("[aria-label^='Remove ']")
        assert [c.get_attribute("aria-label").split(":")[0] for c in chosen.all()] == [
            "Remove Items",
            "Remove Customers",
        ]

    # Unpaused beforehand (the scheduler makes no scheduled run here), so the form shows no
    # "Unpause on trigger" box: a triggered run of a paused DAG would wait for ever.
    ui.airflow("dags", "unpause", "sfqb_sync")
    run_id = trigger_from_form(page, ui, "sfqb_sync", sync_form)
    wait_done(ui, "sfqb_sync", run_id)

    frame = sync_log_frame(page, ui, "sfqb_sync", run_id)
    run = frame.locator(f"[data-testid=run][data-run-id='{run_id}']")
    run.locator("[data-testid=run-header]").wait_for()
    assert "success" in run.get_attribute("data-state")
    counts = run.locator("[data-testid=counts-table]").inner_text()
    assert "customers" in counts and "Account" in counts, counts
    assert "invoices" not in counts.lower(), counts  # the form left the invoices area out
    row = run.locator("[data-testid=warning-row][data-area=customers]", has_text=account.id)
    assert row.count() == 1 and "':'" in row.inner_text(), row.all_inner_texts()
    # The filters work in the browser: a text that matches no warning hides every row.
    filters = run.locator("[data-testid=warning-filters]")
    filters.locator("input[name=q]").fill("no warning says this")
    assert not row.is_visible()
    filters.locator("input[name=q]").fill("")
    assert row.is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sync-log.png"))

    def migration_form(dialog) -> None:
        date = dialog.locator("#element_migration_date")
        if not date.is_visible():  # the "Run Parameters" section starts folded here
            dialog.get_by_text("Run Parameters").click()
        date.fill((dt.date.today() - dt.timedelta(days=3650)).isoformat())
        dialog.locator("[id='switch:element_dry_run']").click()
        assert dialog.locator("input[name=element_dry_run]").is_checked()

    ui.airflow("dags", "unpause", "sfqb_invoice_migration")
    migration_id = trigger_from_form(page, ui, "sfqb_invoice_migration", migration_form)
    wait_done(ui, "sfqb_invoice_migration", migration_id)
    frame = sync_log_frame(page, ui, "sfqb_invoice_migration", migration_id)
    notice = frame.locator(f"[data-testid=run][data-run-id='{migration_id}']").locator(
        "[data-testid=dry-run-notice]"
    )
    text = notice.inner_text()
    assert re.search(r"nothing was written", text, re.I), text
    # The sync left the invoices out, so the seed's invoices are all still to migrate.
    would = re.search(r"Salesforce Invoice\s+(\d+)", text)
    assert would and int(would.group(1)) > 0, text
