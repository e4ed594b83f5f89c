"""Guards on the records the public page trusts: comments are append-only, articles are
never deleted, and the audit chain head never moves back.

Cheap refusals for a careless or half-informed intruder (and for a bug). They are not
the proof: someone with the database files drops triggers first, which is why
``audit verify`` replays the chain against these tables (``audit/replay.py``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:30:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE TRIGGER comments_no_update BEFORE UPDATE ON comments
    BEGIN SELECT RAISE(ABORT, 'comments is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER comments_no_delete BEFORE DELETE ON comments
    BEGIN SELECT RAISE(ABORT, 'comments is append-only: DELETE refused'); END""",
    """CREATE TRIGGER articles_no_delete BEFORE DELETE ON articles
    BEGIN SELECT RAISE(ABORT, 'articles are never deleted: DELETE refused'); END""",
    """CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
    WHEN NEW.seq < OLD.seq
    BEGIN SELECT RAISE(ABORT, 'audit chain: the head never moves back'); END""",
]
SQLITE_DOWN = ["comments_no_update", "comments_no_delete", "articles_no_delete",
               "audit_chain_head_forward"]

PG_UP = """
CREATE TRIGGER comments_append_only BEFORE UPDATE OR DELETE ON comments
  FOR EACH ROW EXECUTE FUNCTION review_flow_append_only();
CREATE TRIGGER comments_no_truncate BEFORE TRUNCATE ON comments
  FOR EACH STATEMENT EXECUTE FUNCTION review_flow_append_only();

CREATE FUNCTION review_flow_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% are never deleted: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER articles_no_delete BEFORE DELETE ON articles
  FOR EACH ROW EXECUTE FUNCTION review_flow_never_deleted();
CREATE TRIGGER articles_no_truncate BEFORE TRUNCATE ON articles
  FOR EACH STATEMENT EXECUTE FUNCTION review_flow_never_deleted();

CREATE FUNCTION review_flow_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq < OLD.seq THEN
    RAISE EXCEPTION 'audit chain: the head never moves back (% to %)', OLD.seq, NEW.seq
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION review_flow_head_forward();
"""

PG_DOWN = """
DROP TRIGGER audit_chain_head_forward ON audit_chain_head;
DROP FUNCTION review_flow_head_forward();
DROP TRIGGER articles_no_truncate ON articles;
DROP TRIGGER articles_no_delete ON articles;
DROP FUNCTION review_flow_never_deleted();
DROP TRIGGER comments_no_truncate ON comments;
DROP TRIGGER comments_append_only ON comments;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for stmt in SQLITE_UP:
            op.execute(stmt)
    else:
        op.execute(PG_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_DOWN:
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute(PG_DOWN)
