"""The Alembic head matches the models exactly (no drift), on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.models import Base


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], diff


def test_migrate_is_idempotent(engine):
    from core.services.setup import migrate
    migrate(engine)  # second run: nothing to do, no error
