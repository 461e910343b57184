"""The ``zhengji`` command line (Typer and Rich); help in Chinese and English."""

from __future__ import annotations

import sys

import typer

from zhengji.cli import ask as _ask  # noqa: F401  (registers `ask`)
from zhengji.cli import corrections as _corrections  # noqa: F401  (registers `corrections export`)
from zhengji.cli import db as _db  # noqa: F401  (registers `db` and `staff`)
from zhengji.cli import ingest as _ingest  # noqa: F401  (registers `ingest`)
from zhengji.cli import notices as _notices  # noqa: F401  (registers `notices` and `windows`)
from zhengji.cli import parse as _parse  # noqa: F401  (registers `parse` and `check`)
from zhengji.cli import reprocess as _reprocess  # noqa: F401  (registers `reprocess`)
from zhengji.cli import serve as _serve  # noqa: F401  (registers `serve`)
from zhengji.cli import staff as _staff  # noqa: F401  (registers `staff list|passwd|disable|enable`)
from zhengji.cli.context import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - an operator's Ctrl-C outside `serve`
        sys.exit(130)
    except typer.Exit as done:  # pragma: no cover
        sys.exit(done.exit_code)
