"""One blob interface, two backends: the local directory and S3 (a real SeaweedFS on loopback) behave alike.

Every test goes through :func:`blob_store`, as zhengji does, with the settings an operator would write.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.servers.ports import free_port
from tests.servers.seaweed import ThrowawaySeaweed
from zhengji.settings import Settings, SettingsError, load_settings
from zhengji.storage.blobs import (
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    LocalBlobStore,
    S3BlobStore,
    S3Location,
    blob_store,
)

MAIL = "Subject: 新职业建议书\r\n\r\n老师您好：附件为新职业建议书，请查收。".encode()


def _settings(tmp_path: Path, blob_url: str | None = None) -> Settings:
    return load_settings(data_dir=tmp_path / "var", mailboxes=["yanfa312@126.com"], blob_url=blob_url)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return blob_store(_settings(tmp_path))
    bucket = request.getfixturevalue("s3_bucket")
    return blob_store(_settings(tmp_path, f"s3://{bucket}/mail/2025"))


def test_put_returns_the_sha256_and_get_the_same_bytes(store: BlobStore) -> None:
    digest = store.put(MAIL)
    assert digest == hashlib.sha256(MAIL).hexdigest()
    assert store.exists(digest)
    assert store.get(digest) == MAIL
    empty = store.put(b"")
    assert store.get(empty) == b""


def test_a_missing_blob_is_blob_not_found_on_either_backend(store: BlobStore) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(missing)
    with pytest.raises(BlobNotFound):
        store.get(missing)


def test_only_digests_name_blobs(store: BlobStore) -> None:
    for name in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            store.get(name)


def test_a_second_put_of_the_same_bytes_leaves_the_stored_blob_alone(
    store: BlobStore, seaweed_or_none: ThrowawaySeaweed | None
) -> None:
    digest = store.put(MAIL)
    before = _written_at(store, digest, seaweed_or_none)
    if seaweed_or_none is not None:
        time.sleep(1.1)  # S3 keeps Last-Modified to the second
    assert store.put(MAIL) == digest
    assert _written_at(store, digest, seaweed_or_none) == before
    assert store.get(digest) == MAIL


def _written_at(store: BlobStore, digest: str, server: ThrowawaySeaweed | None) -> object:
    if isinstance(store, LocalBlobStore):
        return store.path(digest).stat().st_mtime_ns
    assert isinstance(store, S3BlobStore) and server is not None
    return server.client().head_object(Bucket=store.location.bucket, Key=store.key(digest))["LastModified"]


@pytest.fixture
def seaweed_or_none(request: pytest.FixtureRequest, store: BlobStore) -> ThrowawaySeaweed | None:
    return request.getfixturevalue("seaweed_server") if isinstance(store, S3BlobStore) else None


def test_s3_keeps_the_local_layout_under_its_prefix(
    s3_bucket: str, seaweed_server: ThrowawaySeaweed, tmp_path: Path
) -> None:
    # The same relative names as DATA_DIR/blobs, so that an operator moves a store with `aws s3 sync`.
    store = blob_store(_settings(tmp_path, f"s3://{s3_bucket}/mail/2025"))
    digest = store.put(MAIL)
    listed = seaweed_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [item["Key"] for item in listed] == [f"mail/2025/{digest[:2]}/{digest[2:4]}/{digest}"]
    assert LocalBlobStore(tmp_path).path(digest).relative_to(tmp_path).as_posix() == listed[0]["Key"][10:]


def test_an_object_changed_in_the_bucket_is_not_served(
    s3_bucket: str, seaweed_server: ThrowawaySeaweed, tmp_path: Path
) -> None:
    store = blob_store(_settings(tmp_path, f"s3://{s3_bucket}/"))
    assert isinstance(store, S3BlobStore)
    digest = store.put(MAIL)
    seaweed_server.client().put_object(Bucket=s3_bucket, Key=store.key(digest), Body=b"changed in the bucket")
    with pytest.raises(OSError, match="damaged"):
        store.get(digest)


def test_an_unreachable_store_is_an_os_error_never_a_missing_blob(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Nothing listens there: a store that is down must not look like a mail that was never stored.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    store = blob_store(_settings(tmp_path, f"s3://{s3_bucket}/"))
    digest = hashlib.sha256(MAIL).hexdigest()
    for attempt in (lambda: store.put(MAIL), lambda: store.get(digest), lambda: store.exists(digest)):
        with pytest.raises(BlobStoreUnavailable) as caught:
            attempt()
        assert isinstance(caught.value, OSError) and not isinstance(caught.value, BlobNotFound)


def test_a_bucket_that_does_not_exist_is_unavailable_not_a_missing_blob(s3_bucket: str, tmp_path: Path) -> None:
    store = blob_store(_settings(tmp_path, f"s3://{s3_bucket}-gone/"))
    with pytest.raises(BlobStoreUnavailable):
        store.get(hashlib.sha256(MAIL).hexdigest())


def test_the_factory_follows_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = blob_store(_settings(tmp_path))
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "var" / "blobs"
    monkeypatch.setenv("ZHENGJI_BLOB_URL", "s3://zhengji-blobs/mail")
    remote = blob_store(load_settings(data_dir=tmp_path / "var"))
    assert isinstance(remote, S3BlobStore)
    assert remote.location == S3Location("zhengji-blobs", "mail/")
    assert blob_store(load_settings(data_dir=tmp_path / "var")) is remote  # one boto3 client, made once
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    assert blob_store(load_settings(data_dir=tmp_path / "var")) is not remote  # another endpoint, another client
    with pytest.raises(TypeError):
        BlobStore()  # type: ignore[abstract]  # the interface is never a store by itself


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s3://zhengji-blobs/mail", "s3://zhengji-blobs/mail/"),
        ("s3://zhengji-blobs", "s3://zhengji-blobs/"),
        (" s3://zhengji.blobs-2025/a/b/ ", "s3://zhengji.blobs-2025/a/b/"),
        ("", None),
    ],
)
def test_the_blob_url_setting_is_normalised(value: str, expected: str | None, tmp_path: Path) -> None:
    assert _settings(tmp_path, value).blob_url == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("/srv/zhengji/blobs", "应以 s3:// 开头"),
        ("https://AKIAEXAMPLE:wJalrXUtnFEMI@s3.example.com/bucket", "而不是“https://”"),
        ("s3:///mail", "缺少存储桶名称"),
        ("s3://Zhengji_Blobs/mail", "存储桶名称“Zhengji_Blobs”无效"),
        ("s3://ab/mail", "存储桶名称“ab”无效"),
        ("s3://AKIAEXAMPLE:wJalrXUtnFEMI@zhengji-blobs/mail", "地址中不能写密钥"),
        ("s3://zhengji-blobs/mail?region=cn", "不能含“?”或“#”"),
        ("s3://zhengji-blobs/../mail", "不能含“.”或“..”"),
    ],
)
def test_a_wrong_blob_url_stops_start_up_with_one_chinese_line(value: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        _settings(tmp_path, value)
    message = str(caught.value)
    assert message.startswith("设置 ZHENGJI_BLOB_URL 有误：") and says in message
    assert "\n" not in message and "wJalrXUtnFEMI" not in message


def test_the_environment_variable_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGJI_BLOB_URL", "s3://zhengji-blobs/")
    assert load_settings(data_dir=tmp_path).blob_url == "s3://zhengji-blobs/"
