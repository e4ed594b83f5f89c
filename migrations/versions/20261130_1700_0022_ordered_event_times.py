"""Event times that never go back along the chain.

- ``audit_chain_head.at``: the last event's time, kept by the chain trigger. A new event
  is dated no earlier (``audit.log.record`` takes the later of the clock and this), so a
  ``since`` query can seek the first event at or after a time and page on by sequence.
- ``audit_chain_head.ordered_from``: the first event from which times are in order. An
  existing log is read once here: it is the event after the last one dated before the
  event preceding it (1 when there is none, as for a new database), so ``audit verify``
  holds every event from there on to the rule and only reports the older ones.
- The chain trigger refuses an event from ``ordered_from`` on dated before the head's
  time: a cheap guard against a careless writer; the proof is ``audit verify``.

Revision ID: 0022
Revises: 0019
Create Date: 2026-11-30 17:00:00
"""

import sqlalchemy as sa
from alembic import op

from review_flow.timeutil import UTCDateTime

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None

SQLITE_HEAD = """CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    BEGIN UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash{at} WHERE id = 1; END"""

# Times compare as the stored ISO text (fixed width): text order is time order.
SQLITE_TIME = """CREATE TRIGGER audit_events_time BEFORE INSERT ON audit_events
    WHEN NEW.seq >= (SELECT ordered_from FROM audit_chain_head WHERE id = 1)
      AND NEW.at < (SELECT at FROM audit_chain_head WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'audit chain: event dated before the event before it'); END"""

PG_CHAIN = """
CREATE OR REPLACE FUNCTION review_flow_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash varchar(64);
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE;
  IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
    RAISE EXCEPTION 'audit chain: event % does not follow the head (seq %)', NEW.seq, head_seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;{time}
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash{at} WHERE id = 1;
  RETURN NEW;
END $$;
"""

PG_TIME = """
  IF EXISTS (SELECT 1 FROM audit_chain_head
             WHERE id = 1 AND NEW.seq >= ordered_from AND NEW.at < at) THEN
    RAISE EXCEPTION 'audit chain: event % is dated before the event before it', NEW.seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;"""

# The event after the last one dated before its predecessor (1 if none): one pass over the
# log, once, by the primary key.
FILL = """
UPDATE audit_chain_head SET
  at = (SELECT e.at FROM audit_events e WHERE e.seq = audit_chain_head.seq),
  ordered_from = 1 + COALESCE((
    SELECT max(e.seq) FROM audit_events e JOIN audit_events p ON p.seq = e.seq - 1
    WHERE e.at < p.at), 0)
WHERE id = 1
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.add_column(sa.Column("at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column(
            "ordered_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="1", nullable=False))
    op.execute(FILL)
    if sqlite:
        op.execute("DROP TRIGGER audit_events_head")
        op.execute(SQLITE_HEAD.format(at=", at = NEW.at"))
        op.execute(SQLITE_TIME)
    else:
        op.execute(PG_CHAIN.format(at=", at = NEW.at", time=PG_TIME))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_events_time")
        op.execute("DROP TRIGGER audit_events_head")
        op.execute(SQLITE_HEAD.format(at=""))
        # Plain ALTER TABLE (SQLite 3.35+): a batch copy would drop the head's triggers.
        op.execute("ALTER TABLE audit_chain_head DROP COLUMN ordered_from")
        op.execute("ALTER TABLE audit_chain_head DROP COLUMN at")
    else:
        op.execute(PG_CHAIN.format(at="", time=""))
        op.drop_column("audit_chain_head", "ordered_from")
        op.drop_column("audit_chain_head", "at")
