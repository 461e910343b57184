"""The golden corpus: real-shaped mails through `zhengji check`, judged as a clerk would judge them.

Each ``tests/fixtures/mail/NAME.eml`` was built by ``tests/fixtures/make_corpus.py`` with the habits of one mail
client; ``NAME.json`` beside it says what a clerk expects: the track, the verdict, the window, the forms found
and the error findings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
MAILS = sorted(CORPUS.glob("*.eml"))


def check(path: Path, *args: str) -> dict[str, Any]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    result = subprocess.run(
        [sys.executable, "-m", "zhengji", "check", str(path), "--json", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_corpus_is_there() -> None:
    assert len(MAILS) >= 8


@pytest.mark.parametrize("mail", MAILS, ids=[path.stem for path in MAILS])
def test_golden_mail(mail: Path) -> None:
    expected = json.loads(mail.with_suffix(".json").read_text(encoding="utf-8"))
    checked = check(mail)
    assert checked["track"] == expected["track"]
    assert checked["status"] == expected["status"]
    assert checked["in_window"] == expected["in_window"]
    for key in ("window", "next_window"):
        if key in expected:
            assert checked[key] == expected[key]
    assert sorted(document["form"] for document in checked["documents"]) == sorted(expected["forms"])
    errors = [finding["code"] for finding in checked["findings"] if finding["severity"] == "error"]
    errors += [
        finding["code"]
        for document in checked["documents"]
        for finding in document["findings"]
        if finding["severity"] == "error"
    ]
    assert sorted(errors) == sorted(expected["errors"]), json.dumps(checked, ensure_ascii=False, indent=1)[:4000]
    reply = checked["reply"]
    assert reply["subject"].startswith("Re: ")
    assert "您好！" in reply["body"]
    for document in checked["documents"]:
        assert document["file"].split(" › ")[-1] in reply["body"]


def test_received_time_comes_from_the_mailbox_not_the_sender() -> None:
    # The corpus mails carry a sender Date: of their own; the topmost Received: header is what counts.
    checked = check(CORPUS / "outlook_tnef_outside_window.eml")
    assert checked["received"].startswith("2025-07-02T09:15:00")
    moved = check(CORPUS / "outlook_tnef_outside_window.eml", "--received", "2025-06-25T10:00:00+08:00")
    assert moved["status"] == "complete"
    assert moved["in_window"] is True


def test_to_overrides_the_recipient() -> None:
    checked = check(CORPUS / "wps_gd_complete.eml", "--to", "yanfa312@126.com")
    assert checked["status"] == "rejected"
    assert any(finding["code"] == "wrong_mailbox" for finding in checked["findings"])
