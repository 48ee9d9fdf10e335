"""Database-level guards shared by migrations."""


def create_audit_triggers(op) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for ev in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{ev.lower()} BEFORE {ev} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
