"""`serve` on SQLite stores mail through an engine whose transactions go before the pipeline's."""

from __future__ import annotations

from pathlib import Path

from tests.servers.ports import free_port
from zhengji.mailbox.smtp_server import SMTPComponent
from zhengji.mailbox.workers import PipelineComponent
from zhengji.service import build_components
from zhengji.settings import load_settings
from zhengji.storage.migrate import upgrade


def test_on_sqlite_intake_has_an_engine_of_its_own_behind_the_same_write_gate(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, smtp_listen=f"127.0.0.1:{free_port()}", web_listen=f"127.0.0.1:{free_port()}"
    )
    components = build_components(settings)
    smtp = next(component for component in components if isinstance(component, SMTPComponent))
    pipeline = next(component for component in components if isinstance(component, PipelineComponent))
    assert smtp.engine is not pipeline.engine
    upgrade(pipeline.engine)
    for engine in (smtp.engine, pipeline.engine):
        first = next(iter(engine.dispatch.begin))
        assert "WriteGate" in first.__qualname__  # passed before BEGIN IMMEDIATE takes SQLite's lock
        engine.dispose()
