#!/usr/bin/env bash
# One run of sfqb_sync through Airflow (`airflow dags test`, in-process, logs on the terminal).
# Against the sandbox in $SANDBOX_DIR when one is running there; otherwise against whatever the
# Airflow connections salesforce_default / quickbooks_default point at (real services).
set -euo pipefail
cd "$(dirname "$0")/.."
SANDBOX_DIR=${SANDBOX_DIR:-.sandbox}
DAG_ID=${DAG_ID:-sfqb_sync}
BIN=.venv/bin
scripts/airflow_db.sh
if [ -f "$SANDBOX_DIR/connections.json" ]; then
  "$BIN/python" scripts/airflow_settings.py --sandbox-dir "$SANDBOX_DIR"
  REQUESTS_CA_BUNDLE=$("$BIN/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['ca_bundle'])" "$SANDBOX_DIR/connections.json")
  export REQUESTS_CA_BUNDLE
  echo "sync: running $DAG_ID against the sandbox in $SANDBOX_DIR"
else
  "$BIN/python" scripts/airflow_settings.py
  echo "sync: no sandbox running in $SANDBOX_DIR: running $DAG_ID against the services the Airflow connections name"
fi
"$BIN/airflow" dags test "$DAG_ID" ${SYNC_CONF:+--conf "$SYNC_CONF"}
