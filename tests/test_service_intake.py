"""`serve` on SQLite stores mail through an engine whose transactions go before the pipeline's."""

from __future__ import annotations

from pathlib import Path

from tests.servers.ports import free_port
from zhengji.mailbox.smtp_server import SMTPComponent
from zhengji.mailbox.workers import PipelineProcess
from zhengji.service import build_components
from zhengji.settings import load_settings
from zhengji.storage.migrate import upgrade


def test_on_sqlite_intake_has_an_engine_of_its_own_behind_a_write_gate_shared_with_the_workers_process(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        data_dir=tmp_path, smtp_listen=f"127.0.0.1:{free_port()}", web_listen=f"127.0.0.1:{free_port()}"
    )
    components = build_components(settings)
    smtp = next(component for component in components if isinstance(component, SMTPComponent))
    assert any(isinstance(component, PipelineProcess) for component in components)  # the workers: a child process
    upgrade(smtp.engine)
    first = next(iter(smtp.engine.dispatch.begin))
    assert "WriteGate" in first.__qualname__  # passed before BEGIN IMMEDIATE takes SQLite's lock
    with smtp.engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")
    # The gate between the processes of one serve lives beside the database, where the workers' process finds it.
    assert (tmp_path / "zhengji.db.write-gate").exists()
    smtp.engine.dispose()
