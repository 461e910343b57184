"""The Typer application and what every command shares: settings, the clock, the database."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from zhengji import __version__
from zhengji.clock import now
from zhengji.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # importing SQLAlchemy costs ~0.2 s; commands that need no database skip it
    from sqlalchemy.engine import Engine

app = typer.Typer(
    name="zhengji",
    help="征集：职业技能鉴定中心的邮件受理台。\n\nzhengji: the intake desk of a vocational-skills appraisal center.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line on stderr and return the exit to raise (1: could not do the work; 2: bad usage)."""
    errors.print(f"zhengji: {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class Context:
    """Lazily built shared state: a command that only prints help opens no database."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        """The settings, read on first use; a wrong one ends the command with one line naming it."""
        if self._settings is None:
            try:
                self._settings = load_settings()
            except SettingsError as error:
                raise fail(str(error)) from None
        return self._settings

    def now(self) -> datetime:
        return now(self.settings.now)

    def engine(self) -> Engine:
        if self._engine is None:
            from zhengji.storage.db import make_engine

            self._engine = make_engine(self.settings.resolved_database_url)
        return self._engine


def _version(value: bool) -> None:
    if value:
        console.print(f"zhengji {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="显示版本号。 Show the version."
    ),
) -> None:
    """征集：职业技能鉴定中心的邮件受理台。 zhengji: the intake desk of a vocational-skills appraisal center."""
    ctx.obj = Context()


def context(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj
