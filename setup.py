"""Build hook: the wheel carries the top-level ``templates/`` and ``migrations/``.

The repository keeps them beside ``src/`` (the layout in DESIGN.md); an installed copy has
no checkout to find them in, so the build copies them into the package as
``review_flow/_templates`` and ``review_flow/_migrations`` (``review_flow/resources.py``
looks there first). Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"templates": "_templates", "migrations": "_migrations"}


class BuildPyWithShippedFolders(build_py):
    """``build_py`` plus a copy of each shipped folder into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders in place
        for source, name in SHIPPED.items():
            target = Path(self.build_lib) / "review_flow" / name
            shutil.copytree(
                ROOT / source,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildPyWithShippedFolders})
