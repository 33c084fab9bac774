"""Print the summary of the latest run of an sfqb DAG from the Airflow metadata database.

python scripts/show_summary.py [DAG_ID]
"""

from __future__ import annotations

import sys


def main(dag_id: str = "sfqb_sync") -> int:
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from sfqb.report import format_summary
    from sfqb.synclog import xcom_value

    with create_session() as session:
        run = (
            session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        )
        if run is None:
            print(f"{dag_id} has not run yet")
            return 1
        row = (
            session.query(XComModel)
            .filter_by(
                dag_id=dag_id, run_id=run.run_id, task_id="summarize_run", key="return_value"
            )
            .one_or_none()
        )
        print(f"{dag_id} run {run.run_id}: {run.state}")
        if row is None:
            print("  no summary (the run did not reach summarize_run)")
            return 1
        print(format_summary(xcom_value(row)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
