#!/usr/bin/env bash
# Create .venv (if missing) and install sfqb with every package pinned by constraints.txt, and
# the development tools beside it (include/pyproject.toml: the sandbox servers, the simulation).
# Uses uv when it can (seconds); SFQB_INSTALLER=pip forces plain pip (minutes). Idempotent:
# the stamp file records what was installed, so a second call with no change does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
UV_VERSION=0.13.9
STAMP="$VENV/.sfqb-installed"
want=$(cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml include/pyproject.toml | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/airflow" ]; then
  exit 0
fi
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  echo "sfqb: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
installer=${SFQB_INSTALLER:-uv}
if [ "$installer" = uv ]; then
  if ! "$VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION" 2>/dev/null; then
    echo "sfqb: could not install uv, falling back to pip"
    installer=pip
  fi
fi
echo "sfqb: installing requirements with $installer (pinned by constraints.txt)"
if [ "$installer" = uv ]; then
  UV_COMPILE_BYTECODE=1 "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" \
    -r requirements-dev.txt -c constraints.txt -e . -e ./include
else
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip>=25"
  "$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt -c constraints.txt -e . -e ./include
fi
echo "$want" > "$STAMP"
echo "sfqb: installed in $(( $(date +%s) - start )) s"
