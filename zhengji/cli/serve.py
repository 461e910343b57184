"""``zhengji serve``: the whole service on its embedded defaults."""

from __future__ import annotations

import asyncio

import typer

from zhengji.cli.context import app, context, fail
from zhengji.logs import configure as configure_logging


@app.command("serve")
def serve_command(ctx: typer.Context) -> None:
    """运行全部服务（Ctrl-C 停止）。 Run the whole service on its embedded defaults (Ctrl-C stops it)."""
    from zhengji.service import StartupError, check_blob_store, run_service
    from zhengji.storage.migrate import upgrade

    shared = context(ctx)
    settings = shared.settings
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(shared.engine())
    try:
        check_blob_store(settings)
    except StartupError as error:
        raise fail(str(error)) from None
    try:
        asyncio.run(run_service(settings))
    except OSError as error:
        raise fail(str(error)) from None
