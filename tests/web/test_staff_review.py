"""What a reviewer does with a case, end to end on a real database and the real pipeline: correct a field and
see its finding go, return a submission and find the threaded mail in the outbox, accept, let a sender in late,
export the window's 汇总表 and read it back, compare versions, and act on many cases from the queue.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from docx import Document as WordDocument
from openpyxl import load_workbook
from sqlmodel import Session, select

from tests.mailbox.pipeline_support import body_of, outbox, settle
from tests.web.staff_support import (
    ADMIN,
    REVIEWER,
    RunningWeb,
    StaffClient,
    corpus,
    latest_reference,
    make_settings,
    prepare_database,
    process,
    proposal_mail,
)
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import Correction


@dataclass
class Desk:
    web: RunningWeb
    admin: StaffClient
    reviewer: StaffClient

    @property
    def settings(self) -> Settings:
        return self.web.settings

    def reference(self, sender: str) -> str:
        return latest_reference(self.settings, sender)

    def status(self, reference: str) -> str:
        api = self.admin.get("/staff/api/submissions", params={"q": reference}).json()
        return str(api["items"][0]["status"])

    def send_replies(self) -> None:
        engine = make_engine(self.settings.resolved_database_url)
        settle(engine, self.settings)
        engine.dispose()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    settings = make_settings(tmp_path_factory.mktemp("review") / "data")
    engine = prepare_database(settings)
    process(
        engine,
        settings,
        [
            corpus("foxmail_sh_complete"),
            corpus("netease_skill_level_excel"),
            corpus("outlook_tnef_outside_window"),
            proposal_mail(
                occupation="低空物流调度员",
                phone="1234",
                sender=("上海低空物流有限公司", "dk@example.com"),
                message_id="<bad-phone-1@example.com>",
            ),
            proposal_mail(
                occupation="数字孪生运维员",
                phone="021-6000000",
                sender=("上海数孪科技有限公司", "sl@example.com"),
                message_id="<twin-1@example.com>",
            ),
        ],
    )
    engine.dispose()
    with RunningWeb(settings) as web:
        admin, reviewer = StaffClient(web.base), StaffClient(web.base)
        admin.login(ADMIN)
        reviewer.login(REVIEWER)
        yield Desk(web, admin, reviewer)
        admin.close()
        reviewer.close()


def _environment(**values: str) -> dict[str, str]:
    """The test's environment for a ``zhengji`` subprocess, without the developer's ZHENGJI_* settings."""
    return {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")} | values


def _finding_codes(page: str, path: str) -> list[str]:
    row = re.search(rf'<tr class="field[^"]*" data-path="{re.escape(path)}".*?</tr>', page, re.S)
    assert row is not None, path
    return re.findall(r'<span class="code-tag">([^<]+)</span>', row[0])


def test_a_correction_keeps_the_reading_reruns_the_checks_and_exports_as_a_test_case(
    desk: Desk, tmp_path: Path
) -> None:
    reference = desk.reference("dk@example.com")
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    assert "电话有误" in _finding_codes(page, "contact.phone")
    document_id = re.search(
        r'name="document_id" value="(\d+)">\s*<input type="hidden" name="path" value="contact.phone"', page
    )
    assert document_id is not None
    done = desk.reviewer.post(
        f"/staff/submissions/{reference}/corrections",
        {"document_id": document_id[1], "path": "contact.phone", "value": "021-64681234"},
    )
    assert done.status_code == 303
    page = desk.reviewer.get(done.headers["location"]).text
    assert "已保存更正" in page
    assert _finding_codes(page, "contact.phone") == []
    assert "原读取：<del>1234</del>" in page and REVIEWER in page
    assert (
        "bad_phone"
        not in desk.admin.get("/staff/api/submissions", params={"q": reference}).json()["items"][0]["findings"]
    )
    engine = make_engine(desk.settings.resolved_database_url)
    with Session(engine) as session:
        kept = session.exec(select(Correction)).all()
    engine.dispose()
    assert [(row.path, row.original, row.corrected, row.staff) for row in kept] == [
        ("contact.phone", "1234", "021-64681234", REVIEWER)
    ]
    out = tmp_path / "cases"
    result = subprocess.run(
        [sys.executable, "-m", "zhengji", "corrections", "export", "--out", str(out)],
        env=_environment(ZHENGJI_DATA_DIR=str(desk.settings.data_dir), COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "已导出 1 个" in result.stdout
    (folder,) = list(out.iterdir())
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    assert case["form"] == "new_occupation_proposal" and case["format"] == "docx"
    assert case["confirmed"] == {"contact.phone": "021-64681234"}
    assert case["machine"] == {"contact.phone": "1234"}
    assert (folder / case["file"]).read_bytes()[:2] == b"PK"  # the applicant's own .docx


def test_returning_a_submission_sends_a_threaded_mail_that_the_reviewer_saw_first(desk: Desk) -> None:
    reference = desk.reference("sl@example.com")
    preview = desk.reviewer.post(
        f"/staff/submissions/{reference}/decision/preview",
        {"action": "return", "reason": "1. 请补充PDF电子版并加盖公章。"},
    )
    assert preview.status_code == 200
    assert "请补充PDF电子版并加盖公章" in preview.text and "sl@example.com" in preview.text
    assert desk.status(reference) == "incomplete"  # nothing was sent or changed by the preview
    before = len(outbox(desk.settings))
    decided = desk.reviewer.post(
        f"/staff/submissions/{reference}/decision", {"action": "return", "reason": "1. 请补充PDF电子版并加盖公章。"}
    )
    assert decided.status_code == 303
    assert desk.status(reference) == "returned"
    desk.send_replies()
    mails = [message_from_bytes(mail.as_bytes(), policy=policy.default) for mail in outbox(desk.settings)]
    assert len(mails) == before + 1
    sent = next(mail for mail in mails if "审核意见" in str(mail["Subject"]))
    assert reference in str(sent["Subject"])
    assert sent["To"] == "sl@example.com"
    assert sent["In-Reply-To"] == "<twin-1@example.com>"
    body = body_of(sent.as_bytes())
    assert "请补充PDF电子版并加盖公章" in body and f"【{reference}】" in body
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    assert "退回修改" in page and "发出" in page  # the audit trail and the thread show it


def test_a_return_without_a_reason_is_refused(desk: Desk) -> None:
    reference = desk.reference("sw@example.gov.cn")
    answer = desk.reviewer.post(f"/staff/submissions/{reference}/decision", {"action": "return", "reason": " "})
    assert answer.status_code == 400
    assert "须填写理由" in answer.text
    assert desk.status(reference) == "complete"


def test_a_late_exception_is_recorded_and_honoured_by_the_checks(desk: Desk) -> None:
    reference = desk.reference("lizhe@yiwu-tech.com.cn")
    assert desk.status(reference) == "rejected"
    # Received on 07-02, between the June and September windows: early for the next, nothing to correct now.
    page = desk.admin.get(f"/staff/submissions/{reference}").text
    assert '<span class="pill error">不予受理（未到受理时间）</span>' in page
    pills = re.findall(r'<span class="pill (?:error|ok)">([^<]+)</span>', page)
    assert pills and set(pills) == {"不予受理（未到受理时间）"}, pills  # was "1 项须补正" / "无须补正事项"
    queue = desk.admin.get("/staff/queue", params={"q": reference}).text
    assert '<span class="count-errors">不予受理（不在受理时间内）</span>' in queue and "项须补正" not in queue
    granted = desk.admin.post(
        f"/staff/submissions/{reference}/late", {"until": "2025-07-10", "reason": "经处室同意补报"}
    )
    assert granted.status_code == 303
    assert desk.status(reference) == "complete"
    page = desk.admin.get(f"/staff/submissions/{reference}").text
    assert "已准许至 2025-07-10" in page and "经处室同意补报" in page
    findings = desk.admin.get("/staff/api/submissions", params={"q": reference}).json()["items"][0]["findings"]
    assert "outside_window" not in findings


def test_accepted_submissions_fill_the_notices_summary_table(desk: Desk) -> None:
    reference = desk.reference("hr@yiwu-tech.com.cn")
    assert desk.admin.post(f"/staff/submissions/{reference}/decision", {"action": "accept"}).status_code == 303
    assert desk.status(reference) == "accepted"
    sheet = desk.admin.get("/staff/exports/new_occupation.xlsx", params={"window": "2025-06-20"})
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    rows = [
        [cell for cell in row if cell is not None]
        for row in load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True)
    ]
    assert rows[0] == ["附件2"] and rows[1] == ["新职业汇总表"]
    # The same company sent the same occupation earlier from another address (received between two windows):
    # the row is marked in a 备注 column after the notice's own columns (issue 15).
    earlier = desk.reference("lizhe@yiwu-tech.com.cn")
    assert ["序号", "新职业名称", "新职业建议单位", "备注"] in rows
    assert ["1", "无人机群飞表演编队师", "上海翼舞智能科技有限公司", f"与{earlier}重复申报"] in rows
    assert ["推荐单位意见", "年　月　日"] in rows
    word = desk.admin.get("/staff/exports/new_occupation.docx", params={"window": "2025-06-20"})
    document = WordDocument(io.BytesIO(word.content))
    assert "新职业汇总表" in [paragraph.text for paragraph in document.paragraphs]
    cells = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert cells[0] == ["序号", "新职业名称", "新职业建议单位", "备注"]
    assert cells[1] == ["1", "无人机群飞表演编队师", "上海翼舞智能科技有限公司", f"与{earlier}重复申报"]
    originals = desk.admin.get("/staff/exports/new_occupation.zip", params={"window": "2025-06-20"})
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(originals.content)).namelist()
    assert f"{reference}/新职业信息建议书.pdf" in names and f"{reference}/新职业汇总表.docx" in names
    assert all(name.startswith(f"{reference}/") for name in names)


def test_a_track_without_a_summary_table_has_no_export(desk: Desk) -> None:
    answer = desk.admin.get("/staff/exports/evaluator_org.xlsx", params={"window": "2025-06-20"})
    assert answer.status_code == 404
    assert "未附汇总表" in answer.text


def test_the_queue_counts_filters_saves_and_acts_on_many(desk: Desk) -> None:
    page = desk.reviewer.get("/staff/queue").text
    assert re.search(r"全部 <b>5</b>", page)
    saved = desk.reviewer.post("/staff/filters", {"name": "社会化认定", "query": "track=skill_level_occupation"})
    assert saved.status_code == 303
    page = desk.reviewer.get(saved.headers["location"]).text
    assert "已保存筛选条件" in page and 'href="/staff/queue?track=skill_level_occupation">社会化认定</a>' in page
    assert re.findall(r'data-reference="(ZJ-[^"]+)"', page) == [desk.reference("sw@example.gov.cn")]
    references = [desk.reference("sw@example.gov.cn"), desk.reference("dk@example.com")]
    preview = desk.reviewer.post("/staff/bulk", {"action": "accept", "references": references})
    assert preview.status_code == 200 and "确认通过（予以受理）并发送 2 封邮件" in preview.text
    done = desk.reviewer.post(
        "/staff/bulk", {"action": "accept", "references": references, "confirm": "1", "previewed": ""}
    )
    assert done.status_code == 303
    assert all(desk.status(reference) == "accepted" for reference in references)
    assigned = desk.admin.post("/staff/bulk", {"action": "assign", "references": references, "assignee": "2"})
    assert assigned.status_code == 303
    mine = desk.reviewer.get("/staff/api/submissions", params={"reviewer": "me"}).json()
    assert {item["reference"] for item in mine["items"]} == set(references)


def test_the_public_page_shows_the_ended_notice_as_replaced(desk: Desk) -> None:
    page = desk.admin.get("/").text
    row = re.search(r"<tr[^>]*>\s*<td>沪人社职〔2024〕319号</td>.*?</tr>", page, re.S)
    assert row is not None
    assert "已结束（2024-10-22 截止）" in row[0] and "已由沪人社职〔2025〕76号接替" in row[0]
    assert "2025-09-20" not in row[0]  # not beside the track's next window as if it were open


def test_zhengji_notices_prints_whole_values_when_piped() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zhengji", "notices"],
        env=_environment(ZHENGJI_NOW="2025-06-21T10:00:00+08:00", COLUMNS="80"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    line = next(
        line for line in result.stdout.splitlines() if line.startswith("社会化职业技能等级认定职业（工种）征集")
    )
    assert "沪人社职〔2024〕319号（已于2024-10-22结束，由沪人社职〔2025〕76号接替）" in line
    assert line.split("\t")[3:5] == ["2025-06-20 至 2025-06-30", "2025-09-20 至 2025-09-30"]


def test_a_new_version_is_compared_field_by_field(desk: Desk) -> None:
    reference = desk.reference("sl@example.com")  # returned earlier: the applicant sends a corrected version
    engine = make_engine(desk.settings.resolved_database_url)
    process(
        engine,
        desk.settings,
        [
            proposal_mail(
                occupation="数字孪生运维员",
                phone="021-60001234",
                sender=("上海数孪科技有限公司", "sl@example.com"),
                message_id="<twin-2@example.com>",
                when="Wed, 25 Jun 2025 09:30:00 +0800",
            )
        ],
    )
    engine.dispose()
    page = desk.admin.get(f"/staff/submissions/{reference}").text
    versions = page[page.index('id="versions"') : page.index('id="trail"')]
    assert "第 2 版" in versions and "第 1 版" in versions
    change = re.search(
        r"<tr><td>新职业信息建议书</td><td>联系电话</td><td><del>([^<]*)</del></td><td><ins>([^<]*)</ins></td></tr>",
        versions,
    )
    assert change is not None and change.groups() == ("021-6000000", "021-60001234")


def test_the_skill_level_table_lists_the_accepted_recommendations(desk: Desk) -> None:
    sheet = desk.admin.get("/staff/exports/skill_level_occupation.xlsx", params={"window": "2025-06-20"})
    assert sheet.status_code == 200
    rows = [
        [cell for cell in row if cell is not None]
        for row in load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True)
    ]
    assert rows[0] == ["附件1"] and rows[1] == ["社会化职业技能等级认定职业（工种）推荐表"]
    assert "国家职业标准名称" in next(row for row in rows if row and row[0] == "序号")
    assert any(row and row[0] == "推荐单位（加盖公章）：上海市经济和信息化委员会" for row in rows)
    listed = [row for row in rows if row and row[0] in {"1", "2", "3"}]
    assert listed and all(re.fullmatch(r"\d-\d\d-\d\d-\d\d", row[1]) for row in listed)
    # Rows the checks found already in 目录 (already_listed) are marked in a 备注 column, explained below the notes.
    header = next(row for row in rows if row and row[0] == "序号")
    assert header[-1] == "备注"
    assert [row[0] for row in listed if row[-1] == "已纳入目录（附件2），无需重复推荐"] == ["1", "2"]
    assert rows[-2][0].startswith("8. 已纳入社会培训评价组织征集遴选职业（工种）目录")
    assert rows[-1][0].startswith("备注栏为受理中心审核时所加标注")
