"""The CSV export's records are written by the database (``export.csv_line``). Read back
with Python's ``csv`` module they give exactly the stored values, for every kind of text
an event can carry: quotes, commas, line ends, empty texts, NULLs, other scripts; and
they are byte for byte what ``csv.writer`` writes, except that a lone carriage return is
quoted too (``csv.writer`` with ``\n`` line ends leaves it bare, and its own reader then
fails on the record: RFC 4180 quotes it)."""

from __future__ import annotations

import csv
import io

import pytest

from review_flow.audit import export
from review_flow.audit import log as audit_log
from review_flow.audit.query import EventFilter
from tests.core.helpers import act, create

HOSTILE = [
    'He said "no", then left',
    "line one\nline two",
    "carriage\rreturn",
    "windows\r\nline",
    "plain words",
    "",
    '"',
    ",",
    "Ärztin — 医生, «citation»",
    " leading and trailing spaces ",
]


@pytest.fixture
def hostile_log(db, people):
    """A real article history, then one event per hostile text in every text column an
    event carries (comment, actor's name, request id, client address, data)."""
    aid = create(db, people["author"], title='Salt, "sodium" and you')
    act(db, people["author"], aid, "submit")
    act(db, people["reviewer"], aid, "start_review")
    act(db, people["reviewer"], aid, "request_changes", comment='Fix "dose", line 2\r\nok')
    with db.transaction() as s:
        for n, value in enumerate(HOSTILE):
            audit_log.record(
                s,
                actor_id=None,
                actor_name=value or "system",
                action="audit.export",
                object_type="audit",
                object_id=n,
                comment=value,
                context=audit_log.RequestContext(request_id=value, client_addr=value or None),
                data={"format": "csv", "note": value},
            )
    return aid


def _values(db, f: EventFilter) -> list[list[str]]:
    """The stored values of ``f``'s events as a CSV reader gives them back."""
    with db.reading() as s:
        return [
            ["" if v is None else str(v) for v in row]
            for rows in export.row_batches(s, f)
            for row in rows
        ]


def _python_csv(db, f: EventFilter) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(export.COLUMNS)
    writer.writerows(_values(db, f))
    return buf.getvalue()


def _export(db, f: EventFilter) -> str:
    with db.reading() as s:
        return "".join(export.csv_chunks(s, f, batch=3))


def test_every_value_reads_back_exactly(db, hostile_log):
    got = _export(db, EventFilter())
    rows = list(csv.reader(io.StringIO(got, newline="")))
    assert rows[0] == list(export.COLUMNS)
    assert rows[1:] == _values(db, EventFilter())
    by_name = [dict(zip(export.COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [r["comment"] for r in by_name if r["action"] == "audit.export"] == HOSTILE
    assert any(r["client_addr"] == "" for r in by_name)  # NULL as nothing
    assert ',"carriage\rreturn",' in got


def test_same_bytes_as_csv_writer_without_a_lone_carriage_return(db, hostile_log):
    f = EventFilter(article=hostile_log)
    got = _export(db, f)
    assert got == _python_csv(db, f)
    assert 'Fix ""dose"", line 2\r\nok' in got
