"""``python -m sfqb_sim``: the business simulation against fresh sandbox servers (``make soak``).

    python -m sfqb_sim [--days 30] [--seed 1] [--runs-per-day 24] [--fault-rate 0.1]
                  [--actions-per-hour 2] [--settle-runs 2] [--keep-going] [--out DIR]
                  [--edition online|desktop]

Everything lives in a temporary directory: an Airflow home (SQLite, this repo's dags/), the
sandbox servers' data (and on Desktop the Web Connector queue). Exit status 0 when no
invariant was violated, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def airflow_environment(home: Path) -> None:
    """Airflow reads its configuration when first imported: set it before anything does."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("SIM_LOG_LEVEL", "WARNING"),
            # The hooks' retry pauses, shortened as in the tests (steps.common.retry_policy).
            "SFQB_RETRY_BASE_DELAY": "0.05",
        }
    )


def connect(admin) -> None:
    """Airflow connections (env vars) to the sandbox, with a freshly minted refresh token."""
    from sfqb_sandbox.connections import airflow_connections

    os.environ["REQUESTS_CA_BUNDLE"] = admin.connections["ca_bundle"]
    connections = dict(admin.connections)
    if "quickbooks" in connections:  # Online (Desktop's connections are the site's)
        minted = admin.call("quickbooks", "POST", "oauth/refresh-token")
        connections["quickbooks"] = {
            **connections["quickbooks"],
            "refresh_token": minted["refresh_token"],
        }
    for conn_id, spec in airflow_connections(connections).items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(spec)


def parse(argv: list[str] | None):
    from sfqb_sim.runner import Config

    parser = argparse.ArgumentParser(
        prog="python -m sfqb_sim", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--days", type=float, default=30, help="simulated days (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="the random seed (replays a run)")
    parser.add_argument(
        "--runs-per-day", type=int, default=24, help="sfqb_sync runs a day (divides 24)"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.1,
        help="chance of each of up to 3 faults per run (default 0.1)",
    )
    parser.add_argument(
        "--actions-per-hour", type=float, default=2.0, help="business actions an hour, on average"
    )
    parser.add_argument(
        "--settle-runs",
        type=int,
        default=2,
        help="quiet runs at the end (no business, no faults; default 2)",
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="go on after a run with violations"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="write the result as JSON in this directory"
    )
    parser.add_argument(
        "--edition",
        choices=("online", "desktop"),
        default="online",
        help="QuickBooks Online (default) or Desktop (through sfqb's Web Connector service)",
    )
    args = parser.parse_args(argv)
    config = Config(
        days=args.days,
        seed=args.seed,
        runs_per_day=args.runs_per_day,
        fault_rate=args.fault_rate,
        actions_per_hour=args.actions_per_hour,
        settle_runs=args.settle_runs,
        keep_going=args.keep_going,
        edition=args.edition,
    )
    config.hours_per_run  # noqa: B018 - validates runs_per_day
    return config, args.out


def main(argv: list[str] | None = None) -> int:
    config, out = parse(argv)
    with tempfile.TemporaryDirectory(prefix="sfqb-sim-") as tmp:
        airflow_environment(Path(tmp) / "airflow")
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        from airflow.utils.db import initdb

        from sfqb.state import MetadataDbVariables
        from sfqb_sandbox.admin_client import SandboxProcess
        from sfqb_sim.runner import dag_runner, hooks, report, simulate, write

        extra = ["--quickbooks", "desktop"] if config.desktop else []
        process = SandboxProcess(Path(tmp) / "sandbox", seed="tiny", extra_args=extra)
        admin = process.start()
        site = None
        try:
            connect(admin)
            initdb()
            variables, qb_hooks = MetadataDbVariables(), hooks
            if config.desktop:
                from sfqb_sim.desktop import PREFERENCES, DesktopSite, desktop_hooks

                site = DesktopSite(admin, f"sqlite:///{Path(tmp) / 'qbwc-queue.sqlite3'}")
                qb_hooks = desktop_hooks(site)
            variables.set("sfqb.preferences", json.dumps(PREFERENCES if site else {}))
            result = simulate(config, admin, dag_runner(), qb_hooks, variables, site=site)
        finally:
            if site is not None:
                site.close()
            process.stop()
    print(report(result, config))
    if out is not None:
        print(f"sim: result written to {write(result, out)}")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
