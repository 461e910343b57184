"""`zhengji serve` refuses to start on a blob store it cannot write, naming the setting to fix."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import aws_environment
from tests.servers.ports import free_port
from tests.servers.seaweed import ThrowawaySeaweed
from zhengji.service import BLOB_PROBE, StartupError, check_blob_store
from zhengji.settings import load_settings


def serve_environment(tmp_path: Path, blob_url: str) -> dict[str, str]:
    return {
        **{name: value for name, value in os.environ.items() if name.startswith("AWS_")},
        "ZHENGJI_DATA_DIR": str(tmp_path / "var"),
        "ZHENGJI_BLOB_URL": blob_url,
        "ZHENGJI_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{free_port()}",
    }


def test_serve_with_a_bucket_that_does_not_exist_stops_at_once_naming_the_setting(
    seaweed_server: ThrowawaySeaweed, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    aws_environment(monkeypatch, seaweed_server)
    result = run("serve", env=serve_environment(tmp_path, "s3://no-such-bucket-zj/mail"))
    assert result.returncode == 1
    assert "无法写入 S3 存储 s3://no-such-bucket-zj/mail/" in result.stderr
    assert "ZHENGJI_BLOB_URL" in result.stderr and "存储桶须已创建" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_an_s3_store_that_cannot_be_reached_stops_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment = serve_environment(tmp_path, "s3://zhengji-blobs/mail")
    environment.update(
        {
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "AWS_ACCESS_KEY_ID": "zhengji",
            "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
            "AWS_DEFAULT_REGION": "cn-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    result = run("serve", env=environment)
    assert result.returncode == 1
    assert "无法写入 S3 存储" in result.stderr and "AWS_ENDPOINT_URL_S3" in result.stderr
    assert "not-a-real-secret" not in result.stderr


def test_a_writable_bucket_passes_the_check_with_one_probe_object(
    seaweed_server: ThrowawaySeaweed, s3_bucket: str, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path, blob_url=f"s3://{s3_bucket}/mail")
    check_blob_store(settings)
    check_blob_store(settings)  # every start writes the same object again
    listed = seaweed_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    digest = hashlib.sha256(BLOB_PROBE).hexdigest()
    assert [item["Key"] for item in listed] == [f"mail/{digest[:2]}/{digest[2:4]}/{digest}"]


def test_a_blob_directory_that_is_a_file_stops_serve(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_text("not a directory")
    with pytest.raises(StartupError, match="ZHENGJI_DATA_DIR"):
        check_blob_store(load_settings(data_dir=tmp_path))
