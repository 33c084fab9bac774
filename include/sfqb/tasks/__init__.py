"""TaskFlow glue: the only part of the package, besides the hooks, that imports Airflow.

Modules here must stay cheap to import (DAG files import them at parse time): no pandas,
great_expectations, simple_salesforce or quickbooks at module level; import them inside tasks.
"""

from sfqb import logsafety

# In-process runs (`airflow dags test`) print the task's messages to its supervisor at DEBUG,
# masked values included: render them redacted in every process that runs sfqb's tasks.
logsafety.install()
