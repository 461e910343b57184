"""Instances that start together on one empty PostgreSQL database migrate it once, and none of them fails.

Two machines of one installation boot at the same moment (or systemd restarts both after an upgrade): each
``zhengji serve`` runs the migrations first. Without a lock both create the same tables and one stops with
``duplicate key value violates unique constraint`` on ``alembic_version``.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect

from tests.conftest import fresh_postgres_database
from zhengji.storage.db import make_engine
from zhengji.storage.migrate import current_revision, head_revision, upgrade

pytestmark = pytest.mark.postgres


def test_instances_that_start_together_migrate_one_database_once(postgres_server: str) -> None:
    url = fresh_postgres_database(postgres_server)
    engines = [make_engine(url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def migrate(index: int) -> None:
        start.wait()
        try:
            upgrade(engines[index])
        except BaseException as error:  # reported below: every instance must start
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(index,)) for index in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
        assert "messages" in inspect(engines[0]).get_table_names()
    finally:
        for engine in engines:
            engine.dispose()
