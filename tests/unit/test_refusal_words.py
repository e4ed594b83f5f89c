"""Refusals are sentences a person reads, not "field: reason" (issue 11, point 6).

Every domain error the code raises (``review_flow.errors``) is read here from the source:
a message that starts with an identifier and a colon ("name: required", "due: ...",
"{what}: ...") is the old style, and fails this test naming where it is. The field's name
belongs in ``details['fields']`` (a contract, unchanged), not in front of the sentence.
Startup errors about the server's settings (``ValueError``) are for whoever runs the server
and may name a setting; the policy file's refusals name the file's own keys.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import review_flow
from review_flow import errors

SOURCE = Path(review_flow.__file__).parent
DOMAIN_ERRORS = {name for name, value in vars(errors).items()
                 if isinstance(value, type) and issubclass(value, errors.ReviewFlowError)}
MAKERS = DOMAIN_ERRORS | {"invalid"}
# "name: ", "references[1].doi: ", "{what}: ", "{name!r}: " at the start of a message.
OLD_STYLE = re.compile(r"^(\{[^}]*\}|[a-z_][\w\[\].{}]*): ")
ALLOWED = {"policy/document.py"}  # "policy: required_approvals: ...": the file's own keys


def _message(call: ast.Call) -> str | None:
    """The message argument as written (an f-string's holes as ``{...}``)."""
    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
    if name not in MAKERS:
        return None
    args = call.args[2:3] if name == "invalid" else call.args[:1]
    if not args:
        return None
    arg = args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value)
                       + "}" for v in arg.values)
    return None


def old_style_messages(root: Path = SOURCE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if where in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                said = _message(node)
                if said is not None and OLD_STYLE.match(said):
                    found.append(f"{where}:{node.lineno}: {said[:80]}")
    return found


def test_no_refusal_starts_with_a_field_name() -> None:
    assert old_style_messages() == []


def test_the_scan_finds_the_old_style(tmp_path: Path) -> None:
    """So the test above can fail: each old shape is caught, a sentence is not."""
    (tmp_path / "m.py").write_text(
        'raise ValidationFailed("name: required", fields={"name": "required"})\n'
        'raise PermissionDenied(f"{verb}: requires the editor role.")\n'
        'raise invalid("due", "in the past", f"due: {day} is in the past")\n'
        'raise ValidationFailed("Enter a display name.", fields={"name": "required"})\n'
        'raise invalid("name", "required", "Enter a display name.")\n'
    )
    assert [line.split(": ", 1)[0] for line in old_style_messages(tmp_path)] == [
        "m.py:1", "m.py:2", "m.py:3"]
