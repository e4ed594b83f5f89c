"""``review-flow policy show|set``: the review policy from the command line.

A thin adapter over ``policy.service`` (the browser's "Review policy" page calls the same
``put_policy``). Services are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import json
from typing import IO

import click

from review_flow.cli import _cli_actor, _db, domain_errors, with_core_appcontext


@click.group("policy", help="The review policy (versioned; every change is audited).")
def policy_group() -> None:
    pass


def _show_value(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@policy_group.command("show")
@click.option("--json", "as_json", is_flag=True,
              help="Print the policy in force as a policy file (what `policy set` reads).")
@with_core_appcontext
@domain_errors
def policy_show(as_json: bool) -> None:
    """Show the policy in force: its version and every key."""
    from review_flow.policy import document, history, service

    with _db().reading() as session:
        version, settings = service.active_policy(session)  # refuses an empty database
        [row], _ = history.page(session, before=version + 1, limit=1)
        doc = document.as_document(settings)
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    click.echo(f"policy version {version}, set {row.created_at:%Y-%m-%d %H:%M} UTC by {row.by}"
               + (f": {row.note}" if row.note else ""))
    width = max(len(k) for k in doc)
    for key, value in doc.items():
        click.echo(f"  {key.ljust(width)}  {_show_value(value)}")


@policy_group.command("set")
@click.option("--file", "policy_file", required=True, type=click.File("r", encoding="utf-8"),
              help="A policy file: a JSON object of policy keys (`policy show --json` "
              "prints one); keys left out take their defaults. '-' reads standard input.")
@click.option("--as", "as_email", required=True,
              help="Act as this person (e-mail); they must be an editor or an admin.")
@click.option("--note", help="Why the policy changes (kept with the version).")
@with_core_appcontext
@domain_errors
def policy_set(policy_file: IO[str], as_email: str, note: str | None) -> None:
    """Put a new policy version in force (editors and admins only), audited.

    The file describes the whole policy: a key it leaves out takes its default, not the
    value in force now. A key it does not know, bad JSON or a bad value is refused
    naming the key, and nothing is written.
    """
    from review_flow.policy import document, service
    from review_flow.users import service as users

    try:
        text = policy_file.read()
    except UnicodeDecodeError:
        raise click.ClickException("policy file: not UTF-8 text") from None
    doc = document.parse_file(text)
    with _db().transaction() as session:
        actor = _cli_actor(users.get_by_email(session, as_email))
        before, _ = service.active_policy(session)
        version = service.put_policy(session, actor, doc, note=note)
        changed = sorted(service.changes_of(session, version)) if version else []
    if version is None:
        click.echo(f"no change: policy version {before} already says this; nothing written")
    else:
        click.echo(f"policy version {version} in force (was {before}); changed: "
                   f"{', '.join(changed)}")
