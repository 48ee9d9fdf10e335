#!/usr/bin/env bash
# Install (into .venv) and run every test: services (SQLite, and PostgreSQL when TEST_DATABASE_URL is
# set), pages (AppTest) and the real-browser test (Debian chromium: apt-get install -y chromium).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
exec .venv/bin/python -m pytest "$@"
