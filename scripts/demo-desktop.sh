#!/usr/bin/env bash
# `make demo QB_EDITION=desktop`: the demo on QuickBooks Desktop (docs/quickbooks-desktop.md).
# A fresh sandbox (the Desktop company emulator + Salesforce org, seeded), sfqb's Web Connector
# service and the Web Connector emulator polling it as local processes, a deal won today as a
# Sales Order, sfqb_sync run end to end through Airflow, the one-shot migration, a QuickBooks
# user invoicing part of the Sales Order, a second run that brings that invoice and the
# inventory quantities to Salesforce, a third that finds nothing to do; then everything stops.
# Everything lives in .demo/ (removed and recreated each time).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=${DEMO_DIR:-$PWD/.demo}
export SANDBOX_DIR=$DEMO_DIR/sandbox
export AIRFLOW_HOME=$DEMO_DIR/airflow
export SANDBOX_SEED=${SANDBOX_SEED:-small}
export SANDBOX_QUICKBOOKS=desktop
# Free ports, so the demo never collides with a `make sandbox` already running.
export SANDBOX_SF_PORT=0 SANDBOX_QB_PORT=0
PY=.venv/bin/python
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"

service_pid="" connector_pid=""
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
stop_all() {
  stop_pid "$connector_pid"
  stop_pid "$service_pid"
  scripts/sandbox.sh stop
}
trap 'stop_all >/dev/null 2>&1 || true' EXIT

start_connector() {
  "$PY" -m sfqb_sandbox.webconnector run --qwc "$DEMO_DIR/sfqb.qwc" --password "$password" \
    --company "$SFQB_DEMO_COMPANY_URL" --every 2 --noop-wait 1 --company-ca-bundle "$ca_bundle" \
    --log "$DEMO_DIR/webconnector.log" >>"$DEMO_DIR/webconnector-sessions.log" 2>&1 &
  connector_pid=$!
}

sync_run() {  # sync_run N: one sfqb_sync run through Airflow, then its summary
  echo "== demo: sfqb_sync run $1 (full log in $DEMO_DIR/sync-$1.log)"
  scripts/sync.sh >"$DEMO_DIR/sync-$1.log" 2>&1 || { tail -40 "$DEMO_DIR/sync-$1.log"; exit 1; }
  "$PY" scripts/show_summary.py sfqb_sync
}

start=$(date +%s)
# The install date is now, as in the Online demo: the Salesforce org's deals are won today and
# go to QuickBooks; the company's invoice history is older and is left to the migration.
since=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
history=$(date -u -d '1 year ago' +%Y-%m-%d)
echo "== demo: QuickBooks Desktop edition: starting the sandbox servers (seed: $SANDBOX_SEED)"
scripts/sandbox.sh start
scripts/airflow_db.sh
ca_bundle=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['ca_bundle'])" \
  "$SANDBOX_DIR/connections.json")
# The Web Connector's password: the connection's, typed into the Web Connector by the admin.
password=$("$PY" -c "import secrets; print(secrets.token_urlsafe(18))")
# The connections quickbooks_desktop_default and sfqb_qbwc_queue, as environment variables
# read by the service, the Airflow tasks and the demo's own steps alike.
eval "$("$PY" scripts/demo_desktop.py env --sandbox-dir "$SANDBOX_DIR" \
  --queue "$DEMO_DIR/qbwc-queue.sqlite3" --password "$password")"
port=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
echo "== demo: sfqb's Web Connector service on http://localhost:$port/qbwc (log in $DEMO_DIR/qbwc.log)"
"$PY" -m sfqb qbwc serve --host 127.0.0.1 --port "$port" --none-wait 0 >>"$DEMO_DIR/qbwc.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 150); do
  "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" \
    2>/dev/null && break
  kill -0 "$service_pid" 2>/dev/null || { echo "the service stopped:" >&2; tail -20 "$DEMO_DIR/qbwc.log" >&2; exit 1; }
  sleep 0.2
done
"$PY" -m sfqb qbwc qwc --url "http://localhost:$port/qbwc" >"$DEMO_DIR/sfqb.qwc"
echo "== demo: the Web Connector (emulator) runs $DEMO_DIR/sfqb.qwc every 2 s (log in $DEMO_DIR/webconnector.log)"
start_connector
"$PY" scripts/demo_desktop.py wait-poll --sandbox-dir "$SANDBOX_DIR"
"$PY" - "$since" "$history" <<'PYEOF'
import json, sys
from sfqb.state import MetadataDbVariables
prefs = {"quickbooks_edition": "desktop", "sync_inventory_quantities": True, "sync_start": sys.argv[1],
         "migrate_historical_invoices": True, "migration_date": sys.argv[2]}
MetadataDbVariables().set("sfqb.preferences", json.dumps(prefs))
print(f"== demo: preferences (Variable sfqb.preferences): {json.dumps(prefs)}")
PYEOF
echo "== demo: a deal won in Salesforce today, to become a QuickBooks Sales Order"
"$PY" scripts/demo_desktop.py sales-order --sandbox-dir "$SANDBOX_DIR"

echo "   (the seed's other won deals sell Products the Desktop company has no item for: each is"
echo "    skipped with a warning naming them, R-OPP-3; the Online company has most of those items)"
sync_run 1
echo "== demo: sfqb_invoice_migration, the one-shot migration of the invoice history before the install date (log in $DEMO_DIR/migration.log)"
DAG_ID=sfqb_invoice_migration SYNC_CONF="{\"migration_date\": \"$history\"}" \
  scripts/sync.sh >"$DEMO_DIR/migration.log" 2>&1 || { tail -40 "$DEMO_DIR/migration.log"; exit 1; }
"$PY" scripts/show_summary.py sfqb_invoice_migration
grep -E "migration: (chunk|done)" "$DEMO_DIR/migration.log" | sed -E 's/^.*(migration: )/  \1/' || true
echo "== demo: linked records, as Salesforce holds them (External IDs: QuickBooks ListIDs and TxnIDs)"
"$PY" scripts/demo_desktop.py show --sandbox-dir "$SANDBOX_DIR"

echo "== demo: a QuickBooks user invoices part of the Sales Order (the Web Connector paused meanwhile)"
stop_pid "$connector_pid"
"$PY" scripts/demo_desktop.py invoice-part --sandbox-dir "$SANDBOX_DIR" --quantity 2
start_connector
"$PY" scripts/demo_desktop.py wait-poll --sandbox-dir "$SANDBOX_DIR" --new
sync_run 2
echo "== demo: the partial invoice, linked to its Opportunity, and the inventory quantities"
"$PY" scripts/demo_desktop.py show --sandbox-dir "$SANDBOX_DIR"
echo "== demo: nothing changed since: the third run writes nothing"
sync_run 3

echo "== demo: stopping the Web Connector, sfqb's service and the sandbox servers"
stop_pid "$connector_pid"
stop_pid "$service_pid"
scripts/sandbox.sh stop
echo "== demo: done in $(( $(date +%s) - start )) s"
