"""Scale-out, shown end to end: two gunicorn servers (A and B, separate processes on
separate ports, each with its own page cache) and two outbox deliverers on one PostgreSQL
database, with a real SMTP server and a CDN-purge webhook receiver on loopback.

What it proves: a write through one server is read at once through the other (API and
public page, including a page the other had cached, and an ETag one server handed out
revalidates on the other); a session made on one server signs on the other; actions racing
across the two leave exactly one winner and a chain that ``review-flow audit verify``
accepts; every e-mail and purge notice is delivered exactly once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from review_flow.articles.models import Article, Revision
from review_flow.audit.models import AuditEvent
from review_flow.outbox.models import OutboxMessage
from tests.api.conftest import draft
from tests.conftest import PASSWORD
from tests.support.receivers import smtp_server, webhook_receiver
from tests.support.servers import gunicorn
from tests.support.webhook_config import LOOPBACK, register

CLI = str(Path(sys.executable).parent / "review-flow")
SECRET_KEY = "test-secret"  # what tests.support.webhook_config seals purge secrets with
HOOK_SECRET = "whsec_bXVsdGlzZXJ2ZXItcHVyZ2Utc2VjcmV0LTMyYnl0ZXM="  # 32 bytes, Standard Webhooks
# Behind the load balancer every server sees the site's own name in Host.
SITE = {"Host": "reviews.example.org"}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STEP = re.compile(r'<li class="step current" aria-current="step">([^<]+)</li>')


def _env(db_url: str, smtp_port: int) -> dict[str, str]:
    return {
        "REVIEW_FLOW_DATABASE_URL": db_url,
        "REVIEW_FLOW_SECRET_KEY": SECRET_KEY,
        "REVIEW_FLOW_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
        "REVIEW_FLOW_SMTP_HOST": "127.0.0.1",
        "REVIEW_FLOW_SMTP_PORT": str(smtp_port),
        "REVIEW_FLOW_SMTP_TLS": "none",
    }


@contextmanager
def deliverer(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``review-flow outbox deliver --watch``; stopped with SIGTERM, as systemd does."""
    proc = subprocess.Popen(
        [CLI, "outbox", "deliver", "--watch", "--interval", "0.1"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        assert "SIGTERM or Ctrl-C stops" in proc.stderr.readline()
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err


def _to_expand(db: Any) -> int:
    """Board e-mails not yet split into one e-mail per reviewer."""
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "to_expand")) or 0)


def _race(calls: list[Callable[[], requests.Response]]) -> list[int]:
    """Run the calls at once (released together by a barrier); their status codes."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []
    lock = threading.Lock()

    def run(call: Callable[[], requests.Response]) -> None:
        barrier.wait(30)
        status = call().status_code
        with lock:
            codes.append(status)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(codes) == len(calls), "a racing request did not finish"
    return codes


def _wait_for(done: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Poll until ``done()``; the deadline only bounds a failure, no assertion uses time."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_two_servers_and_two_deliverers_on_one_postgresql(
    backend: str, db_url: str, db: Any, people: Any, token_for: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("several app servers share one PostgreSQL database; SQLite is one host's")
    tokens = {who: token_for(people[who]) for who in ("author", "reviewer", "reviewer2")}
    with ExitStack() as stack:
        smtp_port, mails = stack.enter_context(smtp_server())
        purges = stack.enter_context(webhook_receiver(HOOK_SECRET))
        with db.transaction() as s:
            register(s, url=purges.url, events=["page.changed"], secret=HOOK_SECRET)
        env = _env(db_url, smtp_port)
        # A as the tests' other servers run (sync workers), B as DEPLOYMENT.md advises.
        a = stack.enter_context(gunicorn(db_url, workers=2, env=env))
        b = stack.enter_context(gunicorn(db_url, workers=2, env={
            **env, "GUNICORN_CMD_ARGS": "--worker-class gthread --threads 4"}))
        assert a != b
        for _ in range(2):
            # The board's e-mail goes out as soon as it is due (no quiet period to
            # gather a burst into one digest): one e-mail per submission here.
            stack.enter_context(deliverer({**env, "REVIEW_FLOW_OUTBOX_DIGEST_QUIET": "0"}))

        def api(server: str, who: str, method: str, path: str, **kw: Any) -> requests.Response:
            return requests.request(
                method, f"{server}/api/v1{path}", timeout=60,
                headers={"Authorization": f"Bearer {tokens[who]}"}, **kw)

        # 1. Written through A, read at once through B.
        created = api(a, "author", "POST", "/articles", json=draft(title="Salt and blood pressure"))
        assert created.status_code == 201, created.text
        aid = created.json()["id"]
        seen = api(b, "author", "GET", f"/articles/{aid}")
        assert seen.status_code == 200
        assert seen.json()["title"] == "Salt and blood pressure"
        assert seen.json()["version"] == created.json()["version"]

        # 2. Eight edits against the same version, alternating servers: exactly one wins.
        version = seen.json()["version"]
        codes = _race([
            (lambda server=server, n=n: api(
                server, "author", "PUT", f"/articles/{aid}",
                json=draft(body=f"Lower salt intake helps [1]. Edit {n}.",
                           expected_version=version)))
            for n, server in enumerate([a, b] * 4)
        ])
        assert sorted(codes) == [200] + [409] * 7, codes
        after = api(a, "author", "GET", f"/articles/{aid}").json()
        assert after["version"] == version + 1

        # 3. The public page: both servers cache it, a change through one shows on both.
        submitted = api(b, "author", "POST", f"/articles/{aid}/actions/submit", json={})
        assert submitted.status_code == 200, submitted.text
        # Expanded into the reviewers' e-mails before the resubmission below, or both
        # requests would make one e-mail each (a digest lists an article once).
        _wait_for(lambda: _to_expand(db) == 0, "the board's e-mail to be expanded")
        page = f"/articles/{after['slug']}"
        first_a = requests.get(a + page, headers=SITE, timeout=60)
        first_b = requests.get(b + page, headers=SITE, timeout=60)
        assert STEP.findall(first_a.text) == STEP.findall(first_b.text) == ["Submitted"]
        # Both render the same bytes, so one server's ETag revalidates on the other (a CDN
        # may ask either origin).
        assert first_a.headers["ETag"] == first_b.headers["ETag"]
        again = requests.get(b + page, headers={**SITE, "If-None-Match": first_a.headers["ETag"]},
                             timeout=60)
        assert again.status_code == 304

        # 4. Two reviewers start the review at once, one through each server: one winner.
        codes = _race([
            lambda: api(a, "reviewer", "POST", f"/articles/{aid}/actions/start_review", json={}),
            lambda: api(b, "reviewer2", "POST", f"/articles/{aid}/actions/start_review", json={}),
        ])
        assert sorted(codes) == [200, 409], codes
        for server in (a, b):  # each had the "Submitted" page cached: neither serves it
            fresh = requests.get(server + page, timeout=60,
                                 headers={**SITE, "If-None-Match": first_a.headers["ETag"]})
            assert fresh.status_code == 200 and STEP.findall(fresh.text) == ["Under Review"]

        # 5. The winner asks for changes through B; A's reader sees it at once.
        with db.reading() as s:
            winner = s.scalars(select(AuditEvent.actor_id).where(
                AuditEvent.action == "article.start_review")).one()
        reviewer = "reviewer" if winner == people["reviewer"].id else "reviewer2"
        changes = api(b, reviewer, "POST", f"/articles/{aid}/actions/request_changes",
                      json={"comment": "Cite the salt-reduction trial."})
        assert changes.status_code == 200, changes.text
        assert STEP.findall(requests.get(a + page, headers=SITE, timeout=60).text) == [
            "Submitted"]
        assert api(a, "author", "GET", f"/articles/{aid}").json()["state"] == "changes_requested"

        # 6. Resubmitted through A; the reviewer signs in through A and signs the approval
        # through B (no sticky sessions needed); A's cached page shows the approval.
        assert api(a, "author", "POST", f"/articles/{aid}/actions/submit",
                   json={}).status_code == 200
        # The board hears only of an article still waiting when its e-mail is expanded.
        _wait_for(lambda: _to_expand(db) == 0, "the board's e-mail to be expanded")
        assert api(b, reviewer, "POST", f"/articles/{aid}/actions/start_review",
                   json={}).status_code == 200
        browser = requests.Session()
        signin = browser.post(a + "/sign-in", allow_redirects=False, timeout=60, data={
            "email": people[reviewer].user.email, "password": PASSWORD,
            "csrf_token": CSRF.findall(browser.get(a + "/sign-in", timeout=60).text)[0]})
        assert signin.status_code == 303, signin.text[:300]
        form = browser.get(f"{b}/review/{aid}/sign/approve", timeout=60).text
        version_now = api(b, "author", "GET", f"/articles/{aid}").json()["version"]
        signed = browser.post(f"{b}/review/{aid}/sign/approve", allow_redirects=False,
                              timeout=60, data={
            "csrf_token": CSRF.findall(form)[0], "password": PASSWORD,
            "expected_version": str(version_now),
            "content_hash": re.findall(r'name="content_hash" value="([^"]+)"', form)[0]})
        assert signed.status_code == 303, signed.text[:300]
        shown = requests.get(a + page, headers=SITE, timeout=60).text
        assert STEP.findall(shown) == ["Approved"]
        assert f"Medically reviewed by {people[reviewer].user.name}" in shown

        # 7. Every queued e-mail and purge notice goes out; then stop the deliverers.
        _wait_for(lambda: _to_expand(db) == 0, "the board's e-mail to be expanded")
        with db.reading() as s:
            emails = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.channel == "email", OutboxMessage.status != "expanded"))
            wanted_purges = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.kind == "page.changed"))
        # Two submissions: both reviewers each; changes requested and approved: the author.
        assert emails == 6
        assert wanted_purges == 6  # one per state change
        _wait_for(lambda: len(mails) >= emails and len(purges.hits) >= wanted_purges,
                  "the deliverers")
    # Servers and deliverers are stopped now: nothing more can arrive.

    ids = Counter(m.message["Message-ID"] for m in mails)
    assert len(mails) == emails and all(n == 1 for n in ids.values()), ids
    assert sorted((m.message["X-Review-Flow-Kind"], m.rcpt_tos[0]) for m in mails) == [
        ("approved", "author@example.org"),
        ("changes_requested", "author@example.org"),
        *[("review_requested", "okafor@example.org")] * 2,
        *[("review_requested", "reed@example.org")] * 2,
    ]
    hook_ids = Counter(h.headers["X-Review-Flow-Id"] for h in purges.hits)
    assert len(purges.hits) == wanted_purges and all(n == 1 for n in hook_ids.values())
    assert all(h.signature_ok for h in purges.hits)
    # Two deliverers send in parallel: the order of arrival is not promised.
    assert Counter(h.json["data"]["cause"] for h in purges.hits) == Counter({
        "article.submit": 2, "article.start_review": 2, "article.request_changes": 1,
        "article.approve": 1})
    assert all(h.json["data"]["paths"] == [page, "/"] for h in purges.hits)
    with db.reading() as s:
        assert set(s.scalars(select(OutboxMessage.status).where(
            OutboxMessage.webhook_id.is_not(None), OutboxMessage.kind == "page.changed"
        ))) == {"sent"}
        assert s.scalar(select(func.count()).select_from(Revision).where(
            Revision.article_id == aid)) == 2  # the first draft and the one winning edit
        assert s.get(Article, aid).state == "approved"  # type: ignore[union-attr]
        events = s.scalar(select(func.count()).select_from(AuditEvent))
        head = s.scalar(select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))

    verify = subprocess.run([CLI, "audit", "verify"], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith(f"OK: {events} events verified"), verify.stdout
    assert head and head in verify.stdout
