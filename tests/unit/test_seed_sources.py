"""The seed article's references and docs/SEED_SOURCES.md agree: each reference's DOI,
PMID or URL is listed with the stored page it was checked against, and the article's
citations stay lint-clean."""

from __future__ import annotations

import re
from pathlib import Path

from review_flow import demo_seed
from review_flow.articles.reference_lint import lint

DOC = Path(__file__).resolve().parents[2] / "docs" / "SEED_SOURCES.md"


def _rows() -> dict[int, str]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| (\d+) \|", line)
        if m:
            rows[int(m.group(1))] = line
    return rows


def test_every_reference_is_documented_with_its_identifiers_and_a_checked_page() -> None:
    rows = _rows()
    assert sorted(rows) == list(range(1, len(demo_seed.REFERENCES) + 1))
    for n, ref in enumerate(demo_seed.REFERENCES, start=1):
        row = rows[n]
        ids = [ref[k] for k in ("doi", "pmid", "url") if ref.get(k)]
        assert ids, f"reference {n} has no DOI, PMID or URL"
        for value in ids:
            assert value in row, f"reference {n}: {value} is not in SEED_SOURCES.md"
        checked = row.split(" | ")[3]
        assert "http" in checked, f"reference {n} names no page it was checked against"


def test_the_seed_texts_cite_every_reference_and_nothing_else() -> None:
    assert lint(demo_seed.PATIENT_BODY, demo_seed.REFERENCES) == []
    assert lint(demo_seed.PROFESSIONAL_BODY, demo_seed.REFERENCES) == []
