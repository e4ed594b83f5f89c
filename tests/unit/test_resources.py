"""Where templates and migrations are found: the installed package's copy first, else the
checkout's folders, else an error that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from review_flow import resources


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    package, checkout = tmp_path / "site" / "review_flow", tmp_path / "checkout"
    package.mkdir(parents=True)
    checkout.mkdir()
    monkeypatch.setattr(resources, "PACKAGE", package)
    monkeypatch.setattr(resources, "CHECKOUT", checkout)
    return package, checkout


def _folder(path: Path, marker: str) -> Path:
    path.mkdir(parents=True)
    (path / marker).write_text("")
    return path


def test_the_packaged_copy_wins_over_a_folder_that_happens_to_sit_above(
    layout: tuple[Path, Path],
) -> None:
    package, checkout = layout
    packaged = _folder(package / "_templates", "base.html")
    _folder(checkout / "templates", "base.html")
    assert resources.templates_dir() == packaged


def test_a_checkout_uses_its_top_level_folders(layout: tuple[Path, Path]) -> None:
    _, checkout = layout
    templates = _folder(checkout / "templates", "base.html")
    migrations = _folder(checkout / "migrations", "env.py")
    assert (resources.templates_dir(), resources.migrations_dir()) == (templates, migrations)


def test_a_folder_without_its_marker_does_not_count(layout: tuple[Path, Path]) -> None:
    package, checkout = layout
    (package / "_migrations").mkdir()  # empty: a broken install
    migrations = _folder(checkout / "migrations", "env.py")
    assert resources.migrations_dir() == migrations


def test_neither_is_an_error_naming_both_places(layout: tuple[Path, Path]) -> None:
    package, checkout = layout
    with pytest.raises(FileNotFoundError) as exc:
        resources.migrations_dir()
    message = str(exc.value)
    assert str(package / "_migrations") in message and str(checkout / "migrations") in message
    assert "pip install ." in message


def test_this_checkout_is_found() -> None:
    root = Path(__file__).resolve().parents[2]
    assert resources.templates_dir() == root / "templates"
    assert resources.migrations_dir() == root / "migrations"
