"""Append the audit-log append-only triggers to the initial migration (both dialects)."""
import sys

TRIGGERS = '''
    # --- audit_log is append-only: refuse UPDATE and DELETE at the database level
    from migrations.triggers import create_audit_triggers
    create_audit_triggers(op)
'''
p = sys.argv[1]
s = open(p).read()
marker = "    # ### end Alembic commands ###"
first = s.index(marker)
s = s[: first + len(marker)] + "\n" + TRIGGERS + s[first + len(marker):]
open(p, "w").write(s)
