"""Local sandbox servers: a QuickBooks Online company and a Salesforce org over real HTTPS.

They speak the real wire protocols closely enough that python-quickbooks, intuit-oauth and
simple-salesforce (through Airflow's SalesforceHook) work against them unpatched. Nothing in
``dags/`` or ``sfqb`` imports this package: it is for development, tests, demos and benchmarks.

The stable interface is ``python -m sfqb_sandbox serve --data-dir DIR`` and the
``DIR/connections.json`` file it writes once both servers answer (see docs/sandbox.md).
"""
