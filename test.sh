#!/usr/bin/env bash
# Install (into .venv) and run every test: services (SQLite, and PostgreSQL when TEST_DATABASE_URL is
# set), pages (AppTest) and the real-browser test (Debian chromium: apt-get install -y chromium).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# chromium for the browser tests; a CJK font so its screenshots show Chinese instead of boxes;
# poppler-utils (pdftotext, pdftoppm, pdfimages, pdffonts) to check the generated PDFs.
if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftotext ] || ! fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk"; } \
   && [ "$(id -u)" = 0 ]; then
  pkgs="chromium fonts-wqy-microhei poppler-utils"
  apt-get install -y -q $pkgs >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $pkgs >/dev/null; }
fi
exec .venv/bin/python -m pytest "$@"
