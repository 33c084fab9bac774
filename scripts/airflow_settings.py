"""Apply airflow_settings.yaml (the Astro CLI's format) to plain Airflow's metadata database.

    python scripts/airflow_settings.py [--sandbox-dir DIR]

- pools: created or resized;
- variables: created when missing (a value an operator changed in the UI is kept);
- connections: created when missing; with --sandbox-dir pointing at a running sandbox, the
  `quickbooks_default` and `salesforce_default` connections are replaced by the live ones
  (`python -m sfqb_sandbox airflow-connections`), so they reach that sandbox.

One process instead of three `airflow ... import` CLI starts (~13 s on this machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _connection_from_settings(item: dict):
    from airflow.models.connection import Connection

    extra = item.get("conn_extra")
    return Connection(
        conn_id=item["conn_id"],
        conn_type=item["conn_type"],
        host=item.get("conn_host"),
        schema=item.get("conn_schema"),
        login=item.get("conn_login"),
        password=item.get("conn_password"),
        port=item.get("conn_port"),
        extra=json.dumps(extra) if isinstance(extra, dict) else extra,
    )


def _sandbox_connections(sandbox_dir: Path) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sfqb_sandbox",
            "airflow-connections",
            "--data-dir",
            str(sandbox_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def apply(settings_file: Path, sandbox_dir: Path | None) -> list[str]:
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    settings = (yaml.safe_load(settings_file.read_text()) or {}).get("airflow", {})
    done: list[str] = []
    live = _sandbox_connections(sandbox_dir) if sandbox_dir else {}
    with create_session() as session:
        for item in settings.get("pools") or []:
            Pool.create_or_update_pool(
                name=item["pool_name"],
                slots=int(item["pool_slot"]),
                description=item.get("pool_description", ""),
                include_deferred=False,
                session=session,
            )
            done.append(f"pool {item['pool_name']} ({item['pool_slot']} slots)")
        for item in settings.get("connections") or []:
            conn_id = item["conn_id"]
            existing = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            if conn_id in live:
                if existing is not None:
                    session.delete(existing)
                    session.flush()
                spec = live[conn_id]
                session.add(Connection(conn_id=conn_id, **spec))
                done.append(f"connection {conn_id} -> sandbox in {sandbox_dir}")
            elif existing is None:
                session.add(_connection_from_settings(item))
                done.append(f"connection {conn_id} (from {settings_file.name})")
        for item in settings.get("variables") or []:
            name = item["variable_name"]
            if Variable.get(name, default_var=None) is None:
                Variable.set(name, item.get("variable_value", ""))
                done.append(f"variable {name}")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--settings", type=Path, default=ROOT / "airflow_settings.yaml")
    parser.add_argument("--sandbox-dir", type=Path, help="a running sandbox's data directory")
    args = parser.parse_args()
    sandbox_dir = args.sandbox_dir
    if sandbox_dir is not None and not (sandbox_dir / "connections.json").exists():
        print(f"no sandbox running in {sandbox_dir}: keeping the connections as they are")
        sandbox_dir = None
    for line in apply(args.settings, sandbox_dir):
        print(f"airflow settings: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
