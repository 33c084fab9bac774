#!/usr/bin/env bash
# Start or stop the sandbox servers in the background; data and logs in $SANDBOX_DIR.
#   scripts/sandbox.sh start|stop|status
# SANDBOX_QUICKBOOKS picks the QuickBooks beside Salesforce: online (default), desktop or both
# (docs/sandbox-quickbooks-desktop.md).
set -euo pipefail
cd "$(dirname "$0")/.."
SANDBOX_DIR=${SANDBOX_DIR:-.sandbox}
SANDBOX_SEED=${SANDBOX_SEED:-small}
SANDBOX_SF_PORT=${SANDBOX_SF_PORT:-8443}
SANDBOX_QB_PORT=${SANDBOX_QB_PORT:-8444}
SANDBOX_QUICKBOOKS=${SANDBOX_QUICKBOOKS:-online}
PY=${PY:-.venv/bin/python}
pidfile="$SANDBOX_DIR/sandbox.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running && [ -f "$SANDBOX_DIR/connections.json" ]; then
      echo "sandbox: already running (pid $(cat "$pidfile")) in $SANDBOX_DIR"; exit 0
    fi
    mkdir -p "$SANDBOX_DIR"
    seed=()
    # Seed only a new data directory; an existing one keeps its data across restarts.
    if [ ! -d "$SANDBOX_DIR/quickbooks" ] && [ ! -d "$SANDBOX_DIR/salesforce" ]; then seed=(--seed "$SANDBOX_SEED"); fi
    rm -f "$SANDBOX_DIR/connections.json"
    nohup "$PY" -m sfqb_sandbox serve --data-dir "$SANDBOX_DIR" "${seed[@]}" \
      --salesforce-port "$SANDBOX_SF_PORT" --quickbooks-port "$SANDBOX_QB_PORT" \
      --quickbooks "$SANDBOX_QUICKBOOKS" \
      >>"$SANDBOX_DIR/sandbox.log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 600); do
      [ -f "$SANDBOX_DIR/connections.json" ] && break
      if ! running; then echo "sandbox: failed to start; see $SANDBOX_DIR/sandbox.log" >&2; tail -20 "$SANDBOX_DIR/sandbox.log" >&2; exit 1; fi
      sleep 0.2
    done
    [ -f "$SANDBOX_DIR/connections.json" ] || { echo "sandbox: not ready after 120 s" >&2; exit 1; }
    "$PY" - "$SANDBOX_DIR" <<'PYEOF'
import json, sys
c = json.load(open(f"{sys.argv[1]}/connections.json"))
for name in ("salesforce", "quickbooks", "quickbooks_desktop"):
    if name in c:
        print(f"sandbox: {name:<10} {c[name]['base_url']}  (admin {c[name]['admin_url']})")
print(f"sandbox: CA bundle  {c['ca_bundle']}")
PYEOF
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile"); kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "sandbox: stopped (data kept in $SANDBOX_DIR)"
    else
      echo "sandbox: not running"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if running; then echo "sandbox: running (pid $(cat "$pidfile")) in $SANDBOX_DIR"; else echo "sandbox: not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
