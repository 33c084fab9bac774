#!/usr/bin/env bash
# The servers `make test-distributed` starts as local processes (tests/distributed): Redis
# (Celery's broker) and the PostgreSQL server binaries (metadata DB). Installs Debian's
# redis-server when it is not on PATH and postgresql-15 when no /usr/lib/postgresql/*/bin/initdb
# exists; does nothing when both are there. Needs root or sudo for apt-get.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql-15)
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "sfqb: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "sfqb: installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
# Debian 12 ships PostgreSQL 15; on a release without it, take its default server
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && ! apt-cache show postgresql-15 >/dev/null 2>&1; then
  missing=("${missing[@]/postgresql-15/postgresql}")
fi
# policy-rc.d 101: the packages' services are not started; the tests start their own servers
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${as_root[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${as_root[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v redis-server >/dev/null
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
echo "sfqb: installed ${missing[*]}"
