"""A person's decision stands (issue 15; the contract's "Submission statuses"), end to end on a real database, the
real pipeline and the running web app: a reviewer's 不予受理 is ``declined`` and survives another reviewer's field
correction and the applicant's later mail; a return and a new version open the case for review again; the API
shows the status, the verdict and the decision apart; a late exception mails the applicant and files the case
under the window it was let into.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

import pytest

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

    def item(self, reference: str, **query: str) -> dict[str, Any]:
        api = self.admin.get("/staff/api/submissions", params={"q": reference, **query}).json()
        assert api["total"] == 1, api
        return dict(api["items"][0])

    def mail_in(self, raw: bytes) -> None:
        """The applicant's later mail, taken in and answered by the real pipeline while the desk runs."""
        engine = make_engine(self.settings.resolved_database_url)
        process(engine, self.settings, [raw])
        engine.dispose()

    def send_replies(self) -> None:
        engine = make_engine(self.settings.resolved_database_url)
        settle(engine, self.settings)
        engine.dispose()


def _answering(raw: bytes, message_id: str) -> bytes:
    """The applicant's mail as a reply to their first one (threaded by In-Reply-To, as a mail client does)."""
    return f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\n".encode("ascii") + raw


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    settings = make_settings(tmp_path_factory.mktemp("decisions") / "data")
    engine = prepare_database(settings)
    process(
        engine,
        settings,
        [
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


def _document_id(page: str, path: str) -> str:
    found = re.search(rf'name="document_id" value="(\d+)">\s*<input type="hidden" name="path" value="{path}"', page)
    assert found is not None, path
    return found[1]


def test_a_reviewers_rejection_survives_a_correction_and_a_later_mail(desk: Desk) -> None:
    reference = desk.reference("dk@example.com")
    item = desk.item(reference)
    assert (item["status"], item["verdict"], item["decision"]) == ("incomplete", "incomplete", None)
    decided = desk.reviewer.post(
        f"/staff/submissions/{reference}/decision", {"action": "reject", "reason": "1. 该职业已收录于职业分类大典。"}
    )
    assert decided.status_code == 303
    item = desk.item(reference)
    assert (item["status"], item["verdict"], item["decision"]) == ("declined", "incomplete", "declined")

    # A second reviewer corrects the field the machine misread: the case is checked again (the WORD-only mail
    # still lacks its PDF copies), and the first reviewer's decision stands.
    page = desk.admin.get(f"/staff/submissions/{reference}").text
    corrected = desk.admin.post(
        f"/staff/submissions/{reference}/corrections",
        {"document_id": _document_id(page, "contact.phone"), "path": "contact.phone", "value": "021-64681234"},
    )
    assert corrected.status_code == 303
    item = desk.item(reference)
    assert (item["status"], item["verdict"], item["decision"]) == ("declined", "incomplete", "declined")
    assert "bad_phone" not in item["findings"]
    page = desk.admin.get(f"/staff/submissions/{reference}").text
    assert "系统核验：材料需补正 · 审核决定：不予受理" in page
    assert "该申报已有审核决定“不予受理”" in page and 'name="action"' not in page
    trail = re.search(r'<section class="history" id="trail">.*?</section>', page, re.S)
    assert trail is not None
    assert not re.search(rf"<td>{ADMIN}</td><td>状态变更</td>", trail[0])  # a re-check, not a status change
    assert "重新核验" in trail[0]
    again = desk.admin.post(f"/staff/submissions/{reference}/decision", {"action": "accept"})
    assert again.status_code == 400 and "已有审核决定" in again.text

    # The applicant writes again in the same thread: the mail is filed to the case for the reviewer, the
    # decision stands, and the reply says so instead of "已转入人工审核".
    desk.send_replies()  # the decision's own mail
    before = len(outbox(desk.settings))
    desk.mail_in(
        _answering(
            proposal_mail(
                occupation="低空物流调度员",
                phone="021-64681234",
                sender=("上海低空物流有限公司", "dk@example.com"),
                message_id="<bad-phone-2@example.com>",
                when="Wed, 25 Jun 2025 09:30:00 +0800",
            ),
            "<bad-phone-1@example.com>",
        )
    )
    assert desk.reference("dk@example.com") == reference  # no new case
    item = desk.item(reference)
    assert (item["status"], item["decision"]) == ("declined", "declined")
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    assert "第 2 版" in page and 'name="action"' not in page
    replies = [message_from_bytes(mail.as_bytes(), policy=policy.default) for mail in outbox(desk.settings)]
    assert len(replies) == before + 1
    answer = next(mail for mail in replies if mail["In-Reply-To"] == "<bad-phone-2@example.com>")
    body = body_of(answer.as_bytes())
    assert "决定不予受理" in body and "不改变已作出的审核结论" in body
    assert "已转入人工审核" not in body and "受理时间" not in body.split("二、")[1]


def test_a_new_version_after_a_return_is_open_for_review_again(desk: Desk) -> None:
    reference = desk.reference("sl@example.com")
    returned = desk.reviewer.post(
        f"/staff/submissions/{reference}/decision", {"action": "return", "reason": "1. 请补充PDF电子版并加盖公章。"}
    )
    assert returned.status_code == 303
    item = desk.item(reference)
    assert (item["status"], item["verdict"], item["decision"]) == ("returned", "incomplete", "returned")
    desk.send_replies()
    desk.mail_in(
        _answering(
            proposal_mail(
                occupation="数字孪生运维员",
                phone="1234",  # a new problem in the new version
                sender=("上海数孪科技有限公司", "sl@example.com"),
                message_id="<twin-2@example.com>",
                when="Thu, 26 Jun 2025 09:30:00 +0800",
            ),
            "<twin-1@example.com>",
        )
    )
    item = desk.item(reference)
    assert (item["status"], item["verdict"], item["decision"]) == ("incomplete", "incomplete", None)
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    assert "第 2 版" in page and 'name="action"' in page  # decidable again, on the new version
    assert "系统核验：材料需补正 · 审核决定：尚未决定" in page


def test_a_late_exception_mails_the_applicant_and_files_the_case_under_its_window(desk: Desk) -> None:
    reference = desk.reference("lizhe@yiwu-tech.com.cn")
    assert desk.item(reference)["verdict"] == "rejected"  # received 07-02, between the June and September windows
    desk.send_replies()
    before = len(outbox(desk.settings))
    granted = desk.admin.post(
        f"/staff/submissions/{reference}/late", {"until": "2025-07-10", "reason": "经处室同意补报"}
    )
    assert granted.status_code == 303
    desk.send_replies()
    mails = [message_from_bytes(mail.as_bytes(), policy=policy.default) for mail in outbox(desk.settings)]
    assert len(mails) == before + 1
    told = next(mail for mail in mails if "同意逾期补交" in str(mail["Subject"]))
    assert reference in str(told["Subject"]) and told["To"] == "lizhe@yiwu-tech.com.cn"
    body = body_of(told.as_bytes())
    assert "同意您在受理时间截止后补交该项申报材料，补交截止日期为2025年7月10日" in body
    assert "经重新核验，您已发送的材料齐全，现转入人工审核" in body
    accepted = desk.admin.post(f"/staff/submissions/{reference}/decision", {"action": "accept"})
    assert accepted.status_code == 303
    assert desk.item(reference, window="2025-09-20")["decision"] == "accepted"
    assert (
        desk.admin.get("/staff/api/submissions", params={"q": reference, "window": "2025-06-20"}).json()["total"] == 0
    )


def test_the_decision_form_preselects_nothing_and_keeps_the_choice_on_error(desk: Desk) -> None:
    reference = desk.reference("sl@example.com")  # decidable again after its new version
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    form = re.search(r'<section class="panel" id="decision">.*?</section>', page, re.S)
    assert form is not None and 'name="action"' in form[0] and " checked" not in form[0]
    answer = desk.reviewer.post(
        f"/staff/submissions/{reference}/decision/preview", {"action": "reject", "reason": "  "}
    )
    assert answer.status_code == 400 and "须填写理由" in answer.text
    form = re.search(r'<section class="panel" id="decision">.*?</section>', answer.text, re.S)
    assert form is not None
    assert re.findall(r'value="(\w+)" required checked', form[0]) == ["reject"]
    long_reason = "经核对，" * 1001
    answer = desk.reviewer.post(f"/staff/submissions/{reference}/decision", {"action": "return", "reason": long_reason})
    assert answer.status_code == 400 and "理由不能超过" in answer.text
    assert re.findall(r'value="(\w+)" required checked', answer.text) == ["return"]
    assert long_reason in answer.text
