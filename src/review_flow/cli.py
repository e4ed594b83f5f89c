"""The ``review-flow`` command line: a thin adapter over the service layer.

Each command is one transaction (``Database.transaction``). Domain errors become a
message on stderr and a non-zero exit; nothing is written when a command fails.

Start-up stays short: this module imports only click, Flask's CLI and light constants,
each command imports the services it needs when it runs, and the command list is known
without building the app, so ``review-flow --help`` loads no database, web or API code
(tests/cli/test_startup.py holds it to that).
"""

from __future__ import annotations

import functools
import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from review_flow.errors import ReviewFlowError
from review_flow.users.roles import ROLE_NAMES
from review_flow.workflow.definition import ACTIONS_BY_NAME, USER_ACTIONS

if TYPE_CHECKING:
    from review_flow.actor import Actor
    from review_flow.db import Database

F = TypeVar("F", bound=Callable[..., Any])


def _db() -> Database:
    from review_flow.app import database

    db = database(current_app)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().call_on_close(db.dispose)  # close pooled connections on exit
    return db


def with_core_appcontext(fn: F) -> F:
    """``with_appcontext`` for a command that needs only the configuration and the
    database: run as ``review-flow``, the app is built without its web UI and API (about
    0.6 s of CPU at start-up); under ``flask --app`` or a test's app, that app is used."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        if not current_app:
            info = ctx.ensure_object(ScriptInfo)
            if _own_app(ctx):
                from review_flow.app import create_app

                app = create_app(interfaces=False)
            else:
                app = info.load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(fn, *args, **kwargs)

    return functools.update_wrapper(decorator, fn)  # type: ignore[return-value]


def _own_app(ctx: click.Context) -> bool:
    """Run as ``review-flow`` (not ``flask --app``, not a test's app): the app is ours."""
    info = ctx.ensure_object(ScriptInfo)
    return info.create_app is _make_app and info.app_import_path is None


def first_without_app(run: Callable[..., bool]) -> Callable[[F], F]:
    """Run as ``review-flow`` with no app built yet, try ``run`` (the command's arguments)
    before the app: it does the command without Flask's app and SQLAlchemy and returns
    True, or returns False having done nothing, and the command runs as usual."""

    def wrap(fn: F) -> F:
        @click.pass_context
        def decorator(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
            if not current_app and _own_app(ctx) and run(*args, **kwargs):
                return None
            return ctx.invoke(fn, *args, **kwargs)

        return functools.update_wrapper(decorator, fn)  # type: ignore[return-value]

    return wrap


def domain_errors(fn: F) -> F:
    """Turn a domain error into ``Error: <message>`` on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReviewFlowError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper  # type: ignore[return-value]


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, err=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _cli_actor(user: Any) -> Actor:
    from review_flow.actor import Actor
    from review_flow.audit.log import RequestContext

    return Actor(user, context=RequestContext(request_id=uuid.uuid4().hex, client_addr="cli"))


# --- db ---------------------------------------------------------------------------------


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Create or upgrade the schema (runs the migrations).")
@with_appcontext
def db_upgrade() -> None:
    from review_flow import migrate

    db = _db()
    migrate.upgrade(db.engine)
    click.echo(
        f"Database {db.url.render_as_string(hide_password=True)} is at revision "
        f"{migrate.current_revision(db.engine)}."
    )


# --- users ------------------------------------------------------------------------------


@click.group("users", help="People and their roles.")
def users_group() -> None:
    pass


@users_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Display name, e.g. 'Dr. Maya Reed'.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help=f"One of: {', '.join(ROLE_NAMES)}. Repeat for several.",
)
@click.option("--credentials", help="Printed after the name on signatures, e.g. 'MD, FACP'.")
@click.option("--specialty", "specialties", multiple=True, help="A medical specialty; repeatable.")
@click.option(
    "--verified-until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day the credentials count as verified (YYYY-MM-DD).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
@domain_errors
def users_add(
    email: str,
    name: str,
    roles: tuple[str, ...],
    credentials: str | None,
    specialties: tuple[str, ...],
    verified_until: datetime | None,
    password_stdin: bool,
) -> None:
    """Add a user."""
    from review_flow.audit.log import RequestContext
    from review_flow.users import service as users

    unknown = [r for r in roles if r not in ROLE_NAMES]
    if unknown:
        raise click.ClickException(
            f"“{unknown[0]}” is not a role; choose from {', '.join(ROLE_NAMES)}."
        )
    password = _read_password() if password_stdin else None
    with _db().transaction() as session:
        user = users.add_user(
            session,
            email=email,
            name=name,
            roles=roles,
            password=password,
            credentials=credentials,
            specialties=specialties,
            credentials_verified_until=verified_until.date() if verified_until else None,
            context=RequestContext(uuid.uuid4().hex, "cli"),
        )
        click.echo(f"Added user {user.id}: {user.email} ({', '.join(sorted(user.roles))})")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users."""
    from review_flow.users import service as users

    with _db().reading() as session:
        for u in users.list_users(session):
            status = "" if u.active else " (inactive)"
            creds = f", {u.credentials}" if u.credentials else ""
            click.echo(f"{u.id}\t{u.email}\t{u.name}{creds}\t{','.join(sorted(u.roles))}{status}")


def _verified_until_option(value: str | None) -> Any:
    """``--verified-until``: a date, or ``none`` to clear it; absent: unchanged."""
    from review_flow.users.changes import UNSET

    if value is None:
        return UNSET
    if value.strip().lower() == "none":
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or 'none'",
                                 param_hint="--verified-until") from None


@users_group.command("update")
@click.argument("email")
@click.option("--name", help="New display name.")
@click.option("--credentials", help="New credentials, e.g. 'MD, FACP' ('' clears them).")
@click.option("--specialty", "specialties", multiple=True,
              help="Replaces the specialties; repeatable. Use --clear-specialties for none.")
@click.option("--clear-specialties", is_flag=True, help="Remove every specialty.")
@click.option("--verified-until", metavar="YYYY-MM-DD|none",
              help="Last day the credentials count as verified (re-verify), or 'none'.")
@click.option("--role", "roles", multiple=True,
              help=f"Replaces the roles; repeatable. One of: {', '.join(ROLE_NAMES)}.")
@with_appcontext
@domain_errors
def users_update(email: str, name: str | None, credentials: str | None,
                 specialties: tuple[str, ...], clear_specialties: bool,
                 verified_until: str | None, roles: tuple[str, ...]) -> None:
    """Change a person's details; one audited change naming each field (old → new)."""
    from review_flow.audit.log import RequestContext
    from review_flow.users import service as users
    from review_flow.users.changes import UNSET, update_person

    if specialties and clear_specialties:
        raise click.UsageError("--specialty and --clear-specialties exclude each other")
    until = _verified_until_option(verified_until)
    with _db().transaction() as session:
        user = users.get_by_email(session, email)
        changes = update_person(
            session, user, changed_by=None, today=datetime.now(UTC).date(),
            name=UNSET if name is None else name,
            credentials=UNSET if credentials is None else credentials,
            specialties=[] if clear_specialties else (list(specialties) or UNSET),
            credentials_verified_until=until,
            roles=list(roles) or UNSET,
            context=RequestContext(uuid.uuid4().hex, "cli"))
        if not changes:
            click.echo(f"Nothing changed for {user.email}.")
            return
        for field, change in changes.items():
            click.echo(f"{field}: {_shown(change.old)} -> {_shown(change.new)}")
        click.echo(f"Updated {user.email}.")


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(value) or "(none)"
    return str(value)


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the new password from standard input.")
@with_appcontext
@domain_errors
def users_set_password(email: str, password_stdin: bool) -> None:
    """Give a person a new password; every session they have ends."""
    from review_flow.audit.log import RequestContext
    from review_flow.users import service as users

    password = _read_password()
    with _db().transaction() as session:
        user = users.get_by_email(session, email)
        ended = users.set_password(session, user, password,
                                   context=RequestContext(uuid.uuid4().hex, "cli"))
        click.echo(f"Password changed for {user.email}; {ended} session(s) ended.")


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
@domain_errors
def users_deactivate(email: str) -> None:
    """Stop a person signing in or acting; every session they have ends."""
    user_email, ended = _set_active(email, False)
    click.echo(f"Deactivated {user_email}; {ended} session(s) ended.")


@users_group.command("activate")
@click.argument("email")
@with_appcontext
@domain_errors
def users_activate(email: str) -> None:
    """Let a deactivated person sign in again."""
    user_email, _ = _set_active(email, True)
    click.echo(f"Activated {user_email}.")


def _set_active(email: str, active: bool) -> tuple[str, int]:
    """Activate or deactivate a person in one audited transaction: (e-mail, sessions ended)."""
    from review_flow.audit.log import RequestContext
    from review_flow.users import service as users

    with _db().transaction() as session:
        user = users.get_by_email(session, email)
        ended = users.set_active(session, user, active,
                                 context=RequestContext(uuid.uuid4().hex, "cli"))
        return user.email, ended


# --- articles ---------------------------------------------------------------------------


@click.group("articles", help="Drafts, revisions and workflow actions.")
def articles_group() -> None:
    pass


def _load_references(path: str | None) -> Any:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"references file {path}: not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise click.ClickException(f"references file {path}: not UTF-8 text") from None


def _load_json_file(path: str | None, what: str) -> Any:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{what} {path}: not valid JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno})") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{what} {path}: not UTF-8 text") from None


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{what} {path}: not UTF-8 text") from None


@articles_group.command("create")
@click.option("--as", "as_email", required=True, help="Act as this user (e-mail).")
@click.option("--title", required=True)
@click.option("--body-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--professional-body-file",
    type=click.Path(exists=True, dir_okay=False),
    help="The text for healthcare professionals (Markdown), beside the body for patients.",
)
@click.option(
    "--references-file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of {title, url|doi|pmid}.",
)
@with_appcontext
@domain_errors
def articles_create(as_email: str, title: str, body_file: str,
                    professional_body_file: str | None, references_file: str | None) -> None:
    """Create a draft; prints the new article's id alone on stdout."""
    from review_flow.articles.writes import create_article
    from review_flow.users import service as users

    body = _read_text(body_file, "body file")
    pro = (_read_text(professional_body_file, "professional body file")
           if professional_body_file else None)
    refs = _load_references(references_file)
    with _db().transaction() as session:
        actor = _cli_actor(users.get_by_email(session, as_email))
        article = create_article(session, actor, title=title, body=body, references=refs,
                                 professional_body=pro)
        article_id = article.id
    click.echo(article_id)


@articles_group.command("edit")
@click.argument("article_id", type=int)
@click.option("--as", "as_email", required=True)
@click.option("--title")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--professional-body-file", type=click.Path(exists=True, dir_okay=False),
              help="The text for healthcare professionals (an empty file removes it).")
@click.option("--references-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--expected-version", type=int)
@with_appcontext
@domain_errors
def articles_edit(
    article_id: int,
    as_email: str,
    title: str | None,
    body_file: str | None,
    professional_body_file: str | None,
    references_file: str | None,
    expected_version: int | None,
) -> None:
    """Save a new revision (only the parts given change)."""
    from review_flow.articles.queries import get_article
    from review_flow.articles.writes import edit_article
    from review_flow.users import service as users

    with _db().transaction() as session:
        actor = _cli_actor(users.get_by_email(session, as_email))
        article = get_article(session, article_id)
        cur = article.current_revision
        assert cur is not None
        _, rev = edit_article(
            session,
            actor,
            article_id,
            title=title if title is not None else cur.title,
            body=_read_text(body_file, "body file") if body_file else cur.body,
            professional_body=_read_text(professional_body_file, "professional body file")
            if professional_body_file else cur.professional_body,
            references=_load_references(references_file) if references_file else cur.references,
            expected_version=expected_version,
        )
        click.echo(f"revision {rev.number}" if rev else "no change: no new revision")


@articles_group.command("check-reference")
@click.argument("article_id", type=int)
@click.argument("number", type=int)
@click.argument("status", type=click.Choice(["verified", "problem"]))
@click.option("--as", "as_email", required=True)
@click.option("--note", help="What is wrong (required for a problem).")
@with_appcontext
@domain_errors
def articles_check_reference(article_id: int, number: int, status: str, as_email: str,
                             note: str | None) -> None:
    """Mark reference NUMBER (from 1) of the current revision verified or a problem."""
    from review_flow.review_checks.references import record_check
    from review_flow.users import service as users

    with _db().transaction() as session:
        actor = _cli_actor(users.get_by_email(session, as_email))
        record_check(session, actor, article_id, number, status, note)
    click.echo(f"article {article_id}: reference {number} marked {status}")


@articles_group.command("act")
@click.argument("article_id", type=int)
@click.argument("action")
@click.option("--as", "as_email", required=True)
@click.option("--comment")
@click.option("--password-stdin", is_flag=True, help="Read the signing password from stdin.")
@click.option(
    "--attest",
    "attests",
    multiple=True,
    help="A review check you attest to; repeatable. Only conflict_of_interest is still "
    "an attestation: the checklist is answered with --checklist-file and references are "
    "checked with `articles check-reference`.",
)
@click.option(
    "--checklist-file",
    type=click.Path(exists=True, dir_okay=False),
    help='With an approval: a JSON object answering the round\'s checklist, item text → '
    '"yes", "no" or "not_applicable".',
)
@click.option(
    "--conflict",
    help='Conflict-of-interest declaration with an approval: "none", or describe it.',
)
@click.option("--expected-version", type=int, help="Refuse if the article has moved on.")
@with_appcontext
@domain_errors
def articles_act(
    article_id: int,
    action: str,
    as_email: str,
    comment: str | None,
    password_stdin: bool,
    attests: tuple[str, ...],
    conflict: str | None,
    expected_version: int | None,
    checklist_file: str | None,
) -> None:
    """Take a workflow action (submit, start_review, approve, ...)."""
    from review_flow.articles.actions import perform_action
    from review_flow.users import service as users

    spec = ACTIONS_BY_NAME.get(action)
    if spec is None or spec.internal:
        raise click.ClickException(
            f"unknown action {action!r}; actions are: {', '.join(USER_ACTIONS)}"
        )
    if spec.needs_signature and not password_stdin:
        raise click.ClickException(
            f"{action} needs an electronic signature: pass --password-stdin and give the "
            "password on standard input"
        )
    if conflict is not None and action != "approve":
        raise click.ClickException("--conflict is declared with an approval only")
    if checklist_file is not None and action != "approve":
        raise click.ClickException("--checklist-file is answered with an approval only")
    checklist = _load_json_file(checklist_file, "checklist file")
    password = _read_password() if password_stdin else None
    try:
        with _db().transaction() as session:
            actor = _cli_actor(users.get_by_email(session, as_email))
            result = perform_action(
                session,
                actor,
                article_id,
                action,
                comment=comment,
                password=password,
                expected_version=expected_version,
                attestations={a: True for a in attests},
                conflict=conflict,
                checklist=checklist,
            )
            msg = (
                f"article {article_id}: {result.from_state} -> {result.to_state} "
                f"(version {result.article.version})"
            )
            if action == "approve":
                msg += f"; approvals {result.approvals}/{result.required_approvals}"
                if result.still_missing:
                    msg += f"; still needed: {result.still_missing}"
    except ReviewFlowError as exc:
        from review_flow.signatures import attempts

        attempts.record_refused(_db(), exc)  # a refused password: recorded, committed
        raise
    click.echo(msg)


@articles_group.command("show")
@click.argument("article_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Stable JSON output.")
@click.option("--as", "as_email", help="List the actions this user may take.")
@with_appcontext
@domain_errors
def articles_show(article_id: int, as_json: bool, as_email: str | None) -> None:
    """Show an article's state and revisions."""
    from review_flow.articles.queries import article_as_dict, get_article
    from review_flow.rounds import reading as round_reading
    from review_flow.users import service as users

    with _db().reading() as session:
        article = get_article(session, article_id)
        actor = _cli_actor(users.get_by_email(session, as_email)) if as_email else None
        data = article_as_dict(session, article, actor)
        data["round"] = round_reading.round_as_dict(session, article.id)
        if actor is None:
            from review_flow.workflow.engine import can_fire

            data["allowed_actions"] = [a for a in USER_ACTIONS if can_fire(a, article.state)]
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"#{data['id']} {data['title']}  [{data['state']}]  version {data['version']}")
    click.echo(f"slug: {data['slug']}   author: {data['author']['name']}")
    cur, appr = data["current_revision"], data["approved_revision"]
    click.echo(f"current revision: {cur['number']} {cur['content_hash']}" if cur else "no revision")
    click.echo(
        f"approved revision: {appr['number']} {appr['content_hash']}"
        if appr
        else "approved revision: none"
    )
    for a in data.get("approvals", []):
        click.echo(f"  approved by {a['reviewer']} at {a['signed_at']}")
    review = data["round"]
    if review:
        click.echo(
            f"round {review['number']} ({'open' if review['open'] else review['outcome']}), "
            f"policy version {review['policy_version']}"
            + (f"; still needed: {review['still_missing']}" if review["still_missing"] else "")
        )
        for a in review["assignments"]:
            click.echo(
                f"  {a['reviewer']['name']}: {a['state']}, review due {a['review_due'][:10]}"
                + (" (OVERDUE)" if a["overdue"] else "")
            )
    click.echo(f"allowed actions: {', '.join(data['allowed_actions']) or 'none'}")


def _due_date(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.ClickException(f"--due {value!r}: not a date (YYYY-MM-DD)") from None


@articles_group.command("assign")
@click.argument("article_id", type=int)
@click.option("--reviewer", "reviewer_email", required=True, help="The board member (e-mail).")
@click.option("--as", "as_email", required=True, help="Act as this editor (e-mail).")
@click.option("--due", help="Review due date (YYYY-MM-DD); default from the round's policy.")
@with_appcontext
@domain_errors
def articles_assign(article_id: int, reviewer_email: str, as_email: str, due: str | None) -> None:
    """Assign a board member to review the article's open round."""
    from review_flow.rounds import assignments
    from review_flow.users import service as users

    due_on = _due_date(due)
    with _db().transaction() as session:
        actor = _cli_actor(users.get_by_email(session, as_email))
        reviewer = users.get_by_email(session, reviewer_email)
        a = assignments.assign(session, actor, article_id, reviewer, due=due_on)
        msg = (
            f"article {article_id}: {reviewer.name} invited (assignment {a.id}); answer due "
            f"{a.response_due.date().isoformat()}, review due {a.review_due.date().isoformat()}"
        )
    click.echo(msg)


@articles_group.command("respond")
@click.argument("article_id", type=int)
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@click.option("--as", "as_email", required=True, help="Act as this board member (e-mail).")
@click.option("--comment", help="Why you decline (required to decline).")
@with_appcontext
@domain_errors
def articles_respond(article_id: int, answer: str, as_email: str, comment: str | None) -> None:
    """Accept or decline an assignment to review the article."""
    from review_flow.rounds import assignments
    from review_flow.users import service as users

    with _db().transaction() as session:
        actor = _cli_actor(users.get_by_email(session, as_email))
        a = assignments.respond(session, actor, article_id, answer, comment=comment)
        msg = f"article {article_id}: assignment {a.id} {a.state}"
    click.echo(msg)


# --- audit ------------------------------------------------------------------------------


@click.group("audit", help="The tamper-evident audit log.")
def audit_group() -> None:
    pass


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    metavar="FILE",
    help="A signed checkpoint kept elsewhere: prove the log still holds exactly its events. "
    "Repeatable.",
)
@click.option(
    "--public-key",
    "public_key_file",
    metavar="FILE",
    help="The checkpoint key's public half (PEM, or the verifier key line from /transparency); "
    "default: derived from --key / REVIEW_FLOW_CHECKPOINT_KEY_FILE.",
)
@click.option("--key", "key_file", metavar="FILE", help="The checkpoint signing key (PEM).")
@first_without_app(lambda **options: _verify_sqlite_without_app(**options))  # defined below
@with_core_appcontext
@domain_errors
def audit_verify_cmd(
    checkpoint_files: tuple[str, ...], public_key_file: str | None, key_file: str | None
) -> None:
    """Check the hash chain, replay it against the tables and prove each checkpoint's
    prefix; exit 1 naming the first bad event, disagreement (article, field, chain,
    table) or checkpoint."""
    from review_flow.audit import checkpoints
    from review_flow.audit import verify as audit_verify

    proofs = _checkpoint_proofs(checkpoint_files, public_key_file, key_file)
    with _db().reading() as session:
        audit_verify.begin_snapshot(session)
        total = audit_verify.head_seq(session)
        with _verify_progress(total) as bar:
            result = audit_verify.verify_all(session, progress=bar.update)
        checked = [checkpoints.check(session, proof) for proof in proofs]
    _report_verify(result, checked)


def _verify_progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="event",
        desc="Verifying audit log",
        file=sys.stderr,
        disable=None,
        leave=False,
    )


def _verify_sqlite_without_app(
    checkpoint_files: tuple[str, ...], public_key_file: str | None, key_file: str | None
) -> bool:
    """``audit verify`` of a SQLite database named by the environment, before Flask's app,
    SQLAlchemy and the models are imported (about half a second of CPU during which the
    workers could not start): the same snapshot, checks, output and exit status, on a
    driver connection. False (nothing done) for PostgreSQL, checkpoints (their check
    reads the models), or anything only building the app can judge."""
    if checkpoint_files or public_key_file or key_file:
        return False
    from review_flow import config

    path = config.sqlite_file_from_environment()
    if path is None:
        return False
    config.trusted_proxies(config.from_environment().get("TRUSTED_PROXIES"))  # as create_app
    from review_flow.audit import verify as audit_verify

    opened = audit_verify.open_sqlite_snapshot(path)
    if opened is None:
        return False
    raw, head = opened
    try:
        workers = 1
        if head is not None and head[0] >= audit_verify.PARALLEL_THRESHOLD:
            workers = audit_verify.default_sqlite_workers()
        with _verify_progress(head[0] if head else 0) as bar:
            result = audit_verify.verify_snapshot(
                raw, "sqlite", path, head, progress=bar.update, workers=workers
            )
    finally:
        raw.close()
    _report_verify(result, [])
    return True


def _report_verify(result: Any, checked: list[tuple[bool, str]]) -> None:
    """The verdict on stdout (OK) or stderr (FAILED), each checkpoint's after it; exit 1
    on any failure."""
    if not result.ok:
        click.echo(f"FAILED: {result.message}", err=True)
    else:
        click.echo(result.message)
    for ok, message in checked:
        click.echo(message if ok else f"FAILED: {message}", err=not ok)
    if not result.ok or not all(ok for ok, _ in checked):
        sys.exit(1)


def _checkpoint_proofs(
    files: tuple[str, ...], public_key_file: str | None, key_file: str | None
) -> list[Any]:
    """Each ``--checkpoint`` file, its signature checked, before any database work."""
    if not files:
        if public_key_file or key_file:
            raise click.UsageError("--public-key and --key check checkpoints: add --checkpoint")
        return []
    from review_flow.audit import checkpoints

    if public_key_file:
        name, key = checkpoints.load_public_key(public_key_file)
        source = f"the public key in {public_key_file}"
    else:
        key_file = key_file or current_app.config.get("CHECKPOINT_KEY_FILE")
        name, key = None, checkpoints.load_private_key(key_file).public_key()
        source = f"the public half of the checkpoint key {key_file}"
    proofs = checkpoints.load_proofs(list(files), key, name)
    click.echo(f"{len(proofs)} checkpoint signature(s) verified with {source}")
    return proofs


@audit_group.command("checkpoint")
@click.option(
    "--key",
    "key_file",
    metavar="FILE",
    help="Ed25519 private key, PKCS#8 PEM (`openssl genpkey -algorithm ed25519`); "
    "default: $REVIEW_FLOW_CHECKPOINT_KEY_FILE.",
)
@with_appcontext
@domain_errors
def audit_checkpoint_cmd(key_file: str | None) -> None:
    """Sign the chain head, store the checkpoint and print it as a signed note.

    Keep the output somewhere the database's administrators cannot change (another
    machine, a ticket, a witness): `audit verify --checkpoint FILE` needs it later.
    """
    from review_flow.audit import checkpoints
    from review_flow.audit.log import RequestContext

    key = checkpoints.load_private_key(key_file or current_app.config.get("CHECKPOINT_KEY_FILE"))
    with _db().transaction() as session:
        row = checkpoints.take(
            session,
            key,
            origin_setting=current_app.config.get("LOG_ORIGIN"),
            base_url=current_app.config.get("BASE_URL"),
            context=RequestContext(uuid.uuid4().hex, "cli"),
        )
        note = row.note
    click.echo(note, nl=False)


def _os_user() -> str | None:
    """Who ran the command, as the operating system knows them (None if it cannot say)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


@audit_group.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--article", help="Only this article's events (its id).")
@click.option("--actor", help="Only events done by this person (their id).")
@click.option("--action", help="Only this audit action, e.g. article.approve.")
@click.option("--state", help="Only events that left or entered this workflow state.")
@click.option("--since", help="ISO 8601 time; events at or after it (UTC if no zone).")
@click.option("--until", help="ISO 8601 time; events before it (UTC if no zone).")
@click.option("--as", "as_email", help="Record the export as done by this person (e-mail).")
@with_core_appcontext
@domain_errors
def audit_export_cmd(fmt: str, as_email: str | None, **filters: str | None) -> None:
    """Write the audit log to stdout in chain order, streaming.

    The export is recorded first as an audit event of its own (who, which filter, when)
    and holds the events before that record."""
    from review_flow.audit import export as audit_export
    from review_flow.audit import query
    from review_flow.audit.log import RequestContext
    from review_flow.users import service as users

    try:
        f = query.parse(filters)
    except query.BadFilter as exc:
        raise click.BadParameter(exc.message,
                                 param_hint=f"--{exc.details['parameter']}") from None
    db = _db()
    with db.transaction() as session:
        user = users.get_by_email(session, as_email) if as_email else None
        through = audit_export.record_export(
            session, actor=user, f=f, fmt=fmt,
            context=RequestContext(request_id=uuid.uuid4().hex, client_addr="cli"),
            extra={"os_user": _os_user()})
    out = sys.stdout
    with db.reading() as session:
        for chunk in audit_export.chunks(fmt, session, f, through=through):
            out.write(chunk)


# --- workflow ---------------------------------------------------------------------------


@click.group("workflow", help="The review workflow definition.")
def workflow_group() -> None:
    pass


@workflow_group.command("show")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "mermaid", "svg"]), default="text",
    show_default=True,
)
def workflow_show(fmt: str) -> None:
    """Print the workflow: a table, a Mermaid state diagram, or the SVG picture the
    editorial-policy page shows."""
    from review_flow.workflow import diagram, svg

    if fmt == "svg":
        click.echo(svg.render())
        return
    click.echo(diagram.mermaid() if fmt == "mermaid" else diagram.text())


# --- sweep ------------------------------------------------------------------------------


def _parse_time(value: str, hint: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)", param_hint=hint
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.command("sweep")
@click.option("--now", "now_text", metavar="ISO-TIME",
              help="Act as if it were then (UTC unless a zone is given); default: now.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Processes sharing the items on PostgreSQL (default: one per CPU, at "
                   "most 8). SQLite always uses one.")
@with_core_appcontext
def sweep_cmd(now_text: str | None, workers: int | None) -> None:
    """Do what has fallen due: approved articles past their review date go back to review;
    lapsed invitations are recorded; reviewers are reminded of answers and reviews due
    soon or overdue, and long-overdue reviews are escalated to the editors (once each).

    One transaction per item, acted by the system actor; safe to repeat and to run on
    several servers at once. Exit 1 naming each item that failed (the others are done).
    """
    from review_flow.sweep.service import sweep
    from review_flow.sweep.workers import default_workers
    from review_flow.timeutil import isoformat

    now = _parse_time(now_text, "--now") if now_text is not None else None
    db = _db()
    report = sweep(db, now, workers=workers if workers is not None else default_workers(db))
    click.echo(f"Sweep as of {isoformat(report.now)}")
    for step in report.steps:
        ids = ", ".join(str(i) for i in step.done)
        click.echo(f"{step.name}: {len(step.done)} {step.done_verb}" + (f": {ids}" if ids else ""))
        if step.skipped:
            click.echo(f"{step.name}: {len(step.skipped)} skipped (handled meanwhile or by "
                       f"another sweep): {', '.join(str(i) for i in step.skipped)}")
    for failure in report.failures:
        click.echo(f"Error: {failure.step}: {failure.item}: {failure.message}", err=True)
    if not report.ok:
        raise SystemExit(1)


# --- demo -------------------------------------------------------------------------------


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
@with_appcontext
@domain_errors
def demo_cmd(if_empty: bool) -> None:
    """Load demo users and articles in every state; prints how to sign in."""
    from review_flow import demo

    db = _db()
    with db.transaction() as session:
        if demo.has_users(session):
            if if_empty:
                click.echo("Demo data not loaded: the database already has users.")
                click.echo(demo.SIGN_IN_HELP)
                return
            raise click.ClickException(
                "the database already has users; demo loads into an empty one"
            )
        demo.load(session)
    click.echo(demo.SIGN_IN_HELP)


def commands() -> list[click.Command]:
    """Every review-flow command group, for the app (``flask --app wsgi``) and for main."""
    from review_flow.api.cli import GROUPS  # tokens, webhooks, outbox, ...
    from review_flow.policy.cli import policy_group

    return [db_group, users_group, articles_group, audit_group, workflow_group, sweep_cmd,
            demo_cmd, policy_group, *GROUPS]


def register(app: Flask) -> None:
    for cmd in commands():
        app.cli.add_command(cmd)


def _make_app() -> Flask:
    from review_flow.app import create_app

    return create_app()


class _Commands(FlaskGroup):
    """Flask's command group, but the command list comes from this module, not from a
    built app: ``--help`` and a command's own help stay fast, and the app (database,
    web UI, API) is built only when a command runs that needs it. The commands are
    added on first use, so importing ``review_flow.api.cli`` first is no import cycle."""

    def _add_ours(self) -> None:
        for command in commands():
            self.commands.setdefault(command.name or "", command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_ours()
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._add_ours()
        ours = {command.name for command in commands()}
        if name in ours:  # Flask's plugin commands (flask_limiter's import) are not loaded
            return self.commands[name]
        return super().get_command(ctx, name)


@click.group(
    cls=_Commands,
    create_app=_make_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """review-flow: editorial review workflow engine for medical content."""

