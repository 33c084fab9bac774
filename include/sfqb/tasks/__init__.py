"""TaskFlow glue: the only part of the package, besides the hooks, that imports Airflow.

Modules here must stay cheap to import (DAG files import them at parse time): no pandas,
great_expectations, simple_salesforce or quickbooks at module level; import them inside tasks.
"""
