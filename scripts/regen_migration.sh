#!/usr/bin/env bash
# Development only (before the first release): rebuild migrations/versions/0001_initial.py from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial.py
DATABASE_URL="sqlite:///$tmp/m.db" $PY -m alembic revision --autogenerate --rev-id 0001 -m initial >/dev/null
f=$(ls migrations/versions/0001_*.py)
[ "$f" = migrations/versions/0001_initial.py ] || mv "$f" migrations/versions/0001_initial.py
$PY scripts/_add_triggers.py migrations/versions/0001_initial.py
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial.py"
