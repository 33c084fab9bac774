"""sfqb: keeps Salesforce and QuickBooks in step, as Apache Airflow 3 DAGs.

The package holds everything but the DAG wiring: preferences and state, the hooks that talk to
the two services, pure transforms that hold the rules of docs/rules.md, loads, checks and the run
report. ``sfqb.tasks`` is the TaskFlow glue the DAG files in ``dags/`` import.
"""

__version__ = "0.1.0"
