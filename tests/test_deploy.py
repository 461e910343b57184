"""The deployment example an operator copies (``deploy/``): its settings are zhengji's, and its units are valid.

A misspelt variable in an environment file is silently ignored by systemd and by zhengji alike (the setting keeps
its default: a second machine writing blobs to its own disk, replies to a Maildir nobody reads), so every
``ZHENGJI_*`` name the example sets must be a setting of ``zhengji/settings.py``, and the file as a whole must pass
the same validation ``zhengji serve`` does at start-up.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_server
from zhengji.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
# The variables boto3 reads for the S3 store (README "Several machines: blobs"); nothing else may sit beside ours.
AWS = {"AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}


def environment_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines as systemd's EnvironmentFile= reads them (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition("=")
        assert separator, f"not NAME=value: {line!r}"
        values[name] = value
    return values


def test_the_environment_file_sets_only_settings_zhengji_knows_and_they_are_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = environment_file(DEPLOY / "zhengji.env")
    known = {f"ZHENGJI_{name.upper()}" for name in Settings.model_fields}
    ours = {name for name in values if name.startswith("ZHENGJI_")}
    assert ours - known == set()
    assert set(values) - ours == AWS
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()  # raises SettingsError with the variable's name when a value is wrong
    # What several machines must share, and how: PostgreSQL, the bucket, replies through the SMTP account.
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")
    assert settings.blob_url is not None and settings.blob_url.startswith("s3://")
    assert settings.outbound_smtp_url is not None and settings.imap_url is not None


@pytest.mark.parametrize("unit", ["zhengji.service", "seaweedfs.service"])
def test_the_systemd_units_pass_systemd_analyze_verify(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        need_server("systemd-analyze (Debian package systemd)")
        return
    # The units run zhengji and weed from /opt/zhengji/.venv; here that is this checkout's virtual environment,
    # so that verify also checks that the commands exist.
    text = (DEPLOY / "systemd" / unit).read_text().replace("/opt/zhengji", str(ROOT))
    (tmp_path / unit).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / unit)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")
