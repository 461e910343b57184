"""The blob store keeps raw mail by content, durably, and notices damage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from zhengji.storage.blobs import BlobNotFound, LocalBlobStore


def test_put_returns_sha256_and_get_returns_the_bytes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    raw = "Subject: 新职业建议书\r\n\r\n正文".encode()
    digest = store.put(raw)
    assert digest == hashlib.sha256(raw).hexdigest()
    assert store.get(digest) == raw
    assert store.path(digest).parent.parent.name == digest[:2]


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    first = store.put(b"same mail")
    second = store.put(b"same mail")
    assert first == second
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == [store.path(first)]


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put(b"a" * 100_000)
    assert not list(tmp_path.rglob(".incoming-*"))


def test_missing_blob_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound):
        LocalBlobStore(tmp_path).get("0" * 64)


def test_damaged_blob_is_not_served(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    digest = store.put(b"original bytes")
    store.path(digest).write_bytes(b"changed on disk")
    with pytest.raises(OSError, match="damaged"):
        store.get(digest)


def test_only_digests_name_blobs(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalBlobStore(tmp_path).path("../../etc/passwd")
