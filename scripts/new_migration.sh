#!/usr/bin/env bash
# Development: add the next Alembic revision from the difference between the models and the current head.
# Usage: bash scripts/new_migration.sh 0003 short_name   (then review the generated file)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
rev=${1:?revision id, e.g. 0003}; name=${2:?short name}
tmp=$(mktemp -d)
DATABASE_URL="sqlite:///$tmp/m.db" $PY -m alembic upgrade head >/dev/null
DATABASE_URL="sqlite:///$tmp/m.db" $PY -m alembic revision --autogenerate --rev-id "$rev" -m "$name"
rm -rf "$tmp"
