"""Writing an action's change to the article row: one Core UPDATE, not the ORM's flush.

Every workflow action changes a handful of columns of one article row it loaded (and
locked) itself. The unit of work's flush of that one row (change tracking, dependency
sorting, the version check, bookkeeping after it) was the largest single cost of an
action, the sweep's re-reviews included (docs/PERFORMANCE.md, issue 10). Here the
changed columns go out in one prepared UPDATE with the same optimistic version check
(``WHERE version = <the version loaded>``), and the loaded object is then marked clean
with the values written, so it stays in step with the row and a later flush writes
nothing for it. The state itself was already set by ``workflow.engine.fire``; this only
persists it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from review_flow.articles.models import Article
from review_flow.db import table_of

_TABLE = table_of(Article)
# Column attribute key → column name, for the attributes an action may change.
_COLUMNS = {prop.key: prop.columns[0].name for prop in Article.__mapper__.column_attrs}
# Many-to-one relationships kept in step with the foreign key written (key → FK key).
_RELATED = {"approved_revision": "approved_revision_id", "current_revision": "current_revision_id"}
_STATEMENTS: dict[tuple[str, ...], Any] = {}


def _statement(names: tuple[str, ...]) -> Any:
    """One UPDATE per set of changed columns, built once: a statement object memoizes its
    cache key, so executing it again skips re-keying (the sweep's are all alike)."""
    stmt = _STATEMENTS.get(names)
    if stmt is None:
        stmt = (
            update(_TABLE)
            .where(_TABLE.c.id == bindparam("w_id"), _TABLE.c.version == bindparam("w_version"))
            .values({name: bindparam(f"v_{name}", type_=_TABLE.c[name].type) for name in names})
        )
        _STATEMENTS[names] = stmt
    return stmt


def write_article(session: Session, article: Article) -> None:
    """Write ``article``'s changed columns now, guarded by the version it was loaded at.

    Raises ``StaleDataError`` (as the ORM's flush would) when the row is no longer at that
    version. Changes to the many-to-one relationships are not tracked here: set the
    foreign key (``approved_revision_id``), not the relationship."""
    state = inspect(article)
    assert state.persistent, "write_article writes a loaded article"
    values: dict[str, Any] = {}
    loaded_version = article.version
    for key in state.committed_state:
        if key not in _COLUMNS:
            raise AssertionError(f"write_article: set a column, not {key!r}")
        if key == "version":
            loaded_version = state.committed_state[key]
        values[_COLUMNS[key]] = getattr(article, key)
    if not values:
        return
    names = tuple(sorted(values))
    params = {f"v_{name}": value for name, value in values.items()}
    params["w_id"], params["w_version"] = article.id, loaded_version
    with session.no_autoflush:  # else the ORM would flush the very changes written here
        result = session.execute(_statement(names), params)
    if getattr(result, "rowcount", 1) != 1:
        raise StaleDataError(
            f"UPDATE of article {article.id} at version {loaded_version} matched "
            f"{getattr(result, 'rowcount', 0)} rows"
        )
    # The row now holds what the object holds: mark every attribute committed and the
    # object clean (the ORM's own bookkeeping after a flush; ``set_committed_value`` alone
    # leaves the object flagged modified, and every later flush would visit it).
    state._commit_all(state.dict, session.identity_map)
    for relation, fk in _RELATED.items():
        if _COLUMNS[fk] in values:
            # Read again from the identity map (the revision is loaded) when next used.
            session.expire(article, [relation])
