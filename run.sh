#!/usr/bin/env bash
# Install (into .venv) and start Kaowu on the embedded default: SQLite file under data/, no server.
# First start creates the schema, the first 考试中心 administrator (one-time password printed below)
# and loads the demo system. Open http://127.0.0.1:8501
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/python -m core demo --if-empty
exec .venv/bin/python -m streamlit run Home.py --server.address "${KAOWU_ADDRESS:-127.0.0.1}" --server.port "${KAOWU_PORT:-8501}"
