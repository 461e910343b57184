"""A prepared local blob store fsyncs on a mail's path only the directories whose entries are new.

The SMTP server answers ``250`` only after the blob's bytes and every directory entry leading to it are durable.
``prepare`` (run once before the server listens) creates the 256 first-level directories and makes durable every
directory already there, so that a mail pays for a directory fsync only when it opens a new ``ab/cd``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from zhengji.storage import blobs
from zhengji.storage.blobs import LocalBlobStore


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The directories fsynced, in order."""
    seen: list[Path] = []
    real = blobs._fsync_directory

    def record(directory: Path | str) -> None:
        seen.append(Path(directory))
        real(directory)

    monkeypatch.setattr(blobs, "_fsync_directory", record)
    return seen


def _two_blobs_in_one_directory() -> tuple[bytes, bytes]:
    """Two contents whose digests share their first four hex digits (one ``ab/cd``)."""
    first = b"mail 0"
    prefix = hashlib.sha256(first).hexdigest()[:4]
    number = 1
    while hashlib.sha256(b"mail %d" % number).hexdigest()[:4] != prefix:
        number += 1
    return first, b"mail %d" % number


def test_a_fresh_store_makes_every_first_level_directory_durable_before_the_first_mail(
    tmp_path: Path, fsynced: list[Path]
) -> None:
    root = tmp_path / "blobs"
    LocalBlobStore(root).prepare()
    assert sorted(path.name for path in root.iterdir()) == [f"{n:02x}" for n in range(256)]
    assert set(fsynced) == {root, *root.iterdir()}  # each entry made is durable in its parent


def test_a_mail_fsyncs_only_the_directories_whose_entries_it_adds(tmp_path: Path, fsynced: list[Path]) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    store.prepare()
    fsynced.clear()
    first, second = _two_blobs_in_one_directory()
    digest = store.put(first)
    top, leaf = root / digest[:2], root / digest[:2] / digest[2:4]
    assert fsynced == [top, leaf]  # ab/cd's entry in ab, then the blob's in ab/cd; ab itself is durable already
    fsynced.clear()
    assert store.get(store.put(second)) == second
    assert fsynced == [leaf]  # the blob's entry only


def test_a_restarted_store_trusts_the_directories_it_made_durable_at_start(tmp_path: Path, fsynced: list[Path]) -> None:
    root = tmp_path / "blobs"
    first, second = _two_blobs_in_one_directory()
    digest = LocalBlobStore(root).put(first)
    restarted = LocalBlobStore(root)
    restarted.prepare()  # fsyncs every first-level directory, so ab/cd's entry is durable whoever made it
    fsynced.clear()
    restarted.put(second)
    assert fsynced == [root / digest[:2] / digest[2:4]]


def test_an_unprepared_store_still_makes_every_new_entry_durable(tmp_path: Path, fsynced: list[Path]) -> None:
    root = tmp_path / "blobs"
    digest = LocalBlobStore(root).put(b"mail")
    top = root / digest[:2]
    assert fsynced == [top, root, top / digest[2:4]]
