#!/usr/bin/env bash
# The browser `make test-ui` drives (tests/integration/test_browser.py): Debian's Chromium at
# /usr/bin/chromium, installed with apt-get when missing (Playwright's own browser download needs
# the internet; Playwright for Python, in requirements-dev.txt, drives this one). Does nothing
# when it is there. Needs root or sudo for apt-get.
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "sfqb: need root (or sudo) to install chromium" >&2; exit 1; }
  as_root=(sudo)
fi
echo "sfqb: installing chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
