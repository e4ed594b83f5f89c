"""``/transparency``: the latest signed checkpoints and the signing key, for readers."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from review_flow.audit import checkpoints, signed_note


def _take(db: Any, key: Ed25519PrivateKey, n: int = 1) -> list[str]:
    notes = []
    for _ in range(n):
        with db.transaction() as s:
            notes.append(checkpoints.take(s, key).note)
    return notes


def _notes(page: str) -> list[str]:
    blocks = re.findall(r'<pre class="source">(.*?)</pre>', page, re.S)
    return [html.unescape(b) for b in blocks if "BEGIN PUBLIC KEY" not in b]


def test_before_any_checkpoint_the_page_explains_itself(client: Any) -> None:
    r = client.get("/transparency")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "No checkpoint has been published yet." in page
    assert "What a checkpoint proves, and what it does not" in page
    assert "holds the signing key and can also replace every" in page
    assert "review-flow audit verify --checkpoint FILE --public-key KEY" in page


def test_the_page_shows_notes_that_verify_with_the_key_it_shows(
    client: Any, db: Any, story: Any
) -> None:
    story.in_state("approved")
    key = Ed25519PrivateKey.generate()
    taken = _take(db, key, 2)
    page = client.get("/transparency").get_data(as_text=True)
    shown = _notes(page)
    assert shown == taken[::-1]  # newest first, each exactly as printed by the CLI
    verifier = html.unescape(re.search(r'<code class="hash">([^<]+)</code>', page).group(1))
    name, public = signed_note.parse_verifier_key(verifier)
    pem = html.unescape(re.search(r"(-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----)",
                                  page, re.S).group(1))
    assert signed_note.public_bytes(load_pem_public_key(pem.encode())) == (
        signed_note.public_bytes(key.public_key())
    )
    for note in shown:  # raises unless the signature verifies with the key shown
        assert checkpoints.open_checkpoint(note, public, name).origin == name
    size = checkpoints.read(shown[0])[0].size
    assert re.search(rf"Checkpoint \d+: {size} entries, \d{{4}}-\d\d-\d\d \d\d:\d\d UTC", page)


def test_only_a_page_of_checkpoints_is_listed_with_a_link_to_older_ones(
    client: Any, db: Any
) -> None:
    key = Ed25519PrivateKey.generate()
    taken = _take(db, key, 12)
    first = client.get("/transparency").get_data(as_text=True)
    assert _notes(first) == taken[::-1][:10]
    older = re.search(r'<a href="(/transparency\?before=\d+)#checkpoints">Older checkpoints</a>',
                      first)
    assert older, "no link to older checkpoints"
    second = client.get(html.unescape(older.group(1))).get_data(as_text=True)
    assert _notes(second) == taken[::-1][10:]
    assert "Older checkpoints" not in second and "Newest checkpoints" in second
    # One signing key, listed once, however many checkpoints it signed.
    assert first.count("BEGIN PUBLIC KEY") == 1


@pytest.mark.parametrize(
    "before", ["abc", "-1", "1.5", "9" * 30, str(2**31), "\uff11\uff12", " 1"]
)
def test_a_mangled_before_is_a_clear_error_not_a_crash(client: Any, db: Any, before: str) -> None:
    _take(db, Ed25519PrivateKey.generate())
    r = client.get("/transparency", query_string={"before": before})
    assert r.status_code == 422
    assert "must be a checkpoint number" in r.get_data(as_text=True)


def test_a_nul_in_before_is_refused_by_the_site_wide_gate(client: Any, db: Any) -> None:
    _take(db, Ed25519PrivateKey.generate())
    r = client.get("/transparency", query_string={"before": "1\x00"})
    assert r.status_code == 422
    assert "The query argument &#39;before&#39; contains a NUL character" in r.get_data(
        as_text=True)


def test_the_site_links_to_it(client: Any) -> None:
    for url in ("/", "/editorial-policy"):
        page = client.get(url).get_data(as_text=True)
        assert '<a href="/transparency">' in page, url
    assert "transparency page" in client.get("/editorial-policy").get_data(as_text=True)
