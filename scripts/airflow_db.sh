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
# Connections and Variables are stored encrypted (R-OPS-4): `airflow db migrate` wrote a generated
# Fernet key into $AIRFLOW_HOME/airflow.cfg with the file; an empty one set by hand stops here.
.venv/bin/python -c "
import sys
from airflow.configuration import conf
if not conf.get('core', 'fernet_key', fallback='').strip():
    sys.exit('airflow: [core] fernet_key is empty (AIRFLOW__CORE__FERNET_KEY or airflow.cfg in $AIRFLOW_HOME): '
             'connections and Variables would be stored unencrypted; remove the empty setting or set a key')"
