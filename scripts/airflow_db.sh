#!/usr/bin/env bash
# Create or upgrade the local Airflow metadata database (SQLite in $AIRFLOW_HOME) when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AIRFLOW_HOME:?set by the Makefile}"
mkdir -p "$AIRFLOW_HOME"
stamp="$AIRFLOW_HOME/.sfqb-db-version"
want=$(.venv/bin/python -c "import airflow; print(airflow.__version__)")
if [ ! -f "$AIRFLOW_HOME/airflow.db" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "airflow: migrating the metadata database in $AIRFLOW_HOME"
  .venv/bin/airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -30 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
  echo "$want" > "$stamp"
fi
