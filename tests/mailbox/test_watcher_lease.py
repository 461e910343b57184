"""One watcher per IMAP folder across instances: a real Dovecot, a real database, and the instances' locks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import fresh_postgres_database
from tests.mailbox.test_imap_watcher import RecordingWatcher, dovecot, kept, mail, wait_until  # noqa: F401
from tests.servers.dovecot import ThrowawayDovecot
from zhengji.mailbox.imap_watcher import IMAPAccount, IMAPComponent
from zhengji.settings import load_settings
from zhengji.storage.blobs import LocalBlobStore
from zhengji.storage.db import make_engine
from zhengji.storage.locks import instance_lock
from zhengji.storage.migrate import upgrade

RETRY = 0.2  # seconds between tries to take over; the tests wait on what the watchers report, not on this


class Instance:
    """One ``zhengji serve``'s watcher of the folder, with its own lock and blob directory, run in a thread."""

    def __init__(self, name: str, server: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> None:
        account = IMAPAccount(server.host, server.port, server.username, server.password, "INBOX", tls=False)
        self.lock = instance_lock(engine, tmp_path / "locks", f"imap:{account.mailbox.lower()}")
        self.watcher = RecordingWatcher(
            account, engine, LocalBlobStore(tmp_path / name / "blobs"), backoff=0.2, max_backoff=1.0, tick=0.2,
            lock=self.lock, lock_retry=RETRY,
        )  # fmt: skip
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,), daemon=True, name=name)

    def start(self) -> Instance:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the watcher did not stop"
        self.lock.dispose()


@pytest.fixture
def instances(dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> Iterator[list[Instance]]:  # noqa: F811
    pair = [Instance(name, dovecot, engine, tmp_path) for name in ("first", "second")]
    yield pair
    for instance in pair:
        instance.close()


def watching(pair: list[Instance]) -> list[Instance]:
    return [instance for instance in pair if instance.watcher.connected.is_set()]


def test_two_instances_on_one_folder_one_watches_and_each_mail_is_kept_once(
    dovecot: ThrowawayDovecot,  # noqa: F811
    engine: Engine,
    instances: list[Instance],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="zhengji.imap")
    first, second = instances
    first.start()
    wait_until(first.watcher.connected.is_set, "the first instance watches")
    second.start()
    wait_until(lambda: "is watched by" in caplog.text, "the second instance learns that the folder is watched")
    uids = [dovecot.append(mail(number)) for number in (1, 2, 3)]
    wait_until(lambda: len(kept(engine)) == 3, "the three mails are kept")
    assert watching(instances) == [first]
    assert not second.watcher.holding.is_set()
    assert second.watcher.commands == []  # it never even logged in: a 126.com account sees one session
    assert sorted(first.watcher.downloaded) == uids
    assert sorted(row.imap_uid or 0 for row in kept(engine)) == uids
    assert f"this instance ({first.lock.owner}) watches" in caplog.text


@pytest.fixture
def pg_engine(postgres_server: str) -> Iterator[Engine]:
    engine = make_engine(fresh_postgres_database(postgres_server))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_when_the_watchers_database_session_dies_the_other_takes_over_without_doing_a_mail_twice(
    dovecot: ThrowawayDovecot,  # noqa: F811
    pg_engine: Engine,
    tmp_path: Path,
) -> None:
    engine = pg_engine
    pair = [Instance(name, dovecot, engine, tmp_path) for name in ("first", "second")]
    first, second = pair
    try:
        first.start()
        wait_until(first.watcher.connected.is_set, "the first instance watches")
        second.start()
        before = [dovecot.append(mail(number)) for number in (1, 2)]
        wait_until(lambda: len(kept(engine)) == 2, "the first two mails are kept")
        assert watching(pair) == [first]

        # The first instance's lock connection ends as it does when its process or host dies.
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name LIKE 'zhengji lock %'"
                )
            )
        meanwhile = [dovecot.append(mail(number)) for number in (3, 4)]
        wait_until(lambda: second.watcher.connected.is_set(), "the second instance takes over")
        wait_until(lambda: len(kept(engine)) == 4, "the mails appended meanwhile are kept")
        wait_until(lambda: not first.watcher.connected.is_set(), "the first instance stops watching")
        after = [dovecot.append(mail(5))]
        wait_until(lambda: len(kept(engine)) == 5, "a later mail is kept by the new watcher")

        assert watching(pair) == [second]
        assert not first.watcher.holding.is_set()
        rows = kept(engine)
        assert sorted(row.imap_uid or 0 for row in rows) == before + meanwhile + after
        downloads = first.watcher.downloaded + second.watcher.downloaded
        assert sorted(downloads) == before + meanwhile + after  # no mail fetched by both
        assert set(first.watcher.downloaded) == set(before)
    finally:
        for instance in pair:
            instance.close()


def test_the_component_watches_under_its_lock_in_the_data_directory(
    dovecot: ThrowawayDovecot,  # noqa: F811
    engine: Engine,
    tmp_path: Path,
) -> None:
    """`serve` builds its watcher with the lock and the retry from the settings."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=engine.url.render_as_string(hide_password=False),
        imap_url=dovecot.url,
        imap_lock_retry_seconds=0.5,
    )
    component = IMAPComponent(settings, engine=engine)
    try:
        assert component.watcher.lock is component.lock
        assert component.watcher.lock_retry == 0.5
        rival = instance_lock(engine, tmp_path / "data" / "locks", f"imap:{dovecot.username}/INBOX".lower())
        try:
            assert rival.try_acquire()
            assert not component.lock.try_acquire()  # the same lock: the component would wait for the rival
        finally:
            rival.dispose()
    finally:
        component.lock.dispose()
