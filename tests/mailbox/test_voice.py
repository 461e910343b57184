"""One mailbox, one voice; early is not late; the 自助经办系统 is the formal channel; every mail sent is dated.

The replies are composed from real documents where the form matters (a Guangdong 建议书 built as .docx and parsed
as the service parses it); the decision and code mails from the rows the service stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.parsers.test_submission import doc
from zhengji.bot.codemail import CodeMail
from zhengji.bot.codemail import compose as compose_code_mail
from zhengji.clock import SHANGHAI
from zhengji.mailbox.compose import channel_text, compose_reply
from zhengji.mailbox.outbox import deliver_to_maildir, outgoing_message
from zhengji.notices.registry import load_registry
from zhengji.parsers.document import ParseOptions, parse_document
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge
from zhengji.review.decisions import DEFAULT_TEMPLATES, compose_decision
from zhengji.storage.models import Message, MessageSource, Reply, Submission
from zhengji.storage.status import SubmissionStatus

SH = "yanfa312@126.com"
GD = "jnzx_zzyfk@gd.gov.cn"
GD_OPEN = datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)  # inside Guangdong's first period
SH_CENTER = "上海市职业技能鉴定中心"
GD_CENTER = "广东省职业技能服务指导中心"


def letter(to: str, at: datetime, subject: str = "新职业征集材料") -> Mail:
    return Mail(attachments=[], received=at, to=[to], subject=subject, sender_name="某科技有限公司")


def reply_of(checked: CheckedSubmission) -> str:
    return compose_reply(checked, reference="ZJ-2026Q3-7K3M9P", today=checked.received.date()).body


def signature(body: str) -> list[str]:
    """The lines after the last paragraph: the signing center, its contact line, the date."""
    return body.rstrip("\n").split("\n\n")[-1].splitlines()


@pytest.fixture(scope="module")
def gd_proposal() -> ParsedDocument:
    """A filled Guangdong 新职业建议书, as Word, parsed as the service parses it."""
    docx = build_proposal_docx(sample_proposal("guangdong"))
    document = parse_document("新职业建议书.docx", docx, "docx", ParseOptions(at=GD_OPEN, isolate=False))
    assert document.form == "new_occupation_proposal" and document.fields.get("province") == "guangdong"
    return document


# --- one mailbox, one voice -------------------------------------------------------------------------------


def test_a_guangdong_proposal_mailed_to_shanghai_is_answered_by_shanghai(gd_proposal: ParsedDocument) -> None:
    checked = judge(letter(SH, GD_OPEN), [gd_proposal.model_copy(deep=True)])
    assert (checked.track, checked.status) == ("gd_new_occupation", "rejected")
    [wrong] = [finding for finding in checked.findings if finding.code == "wrong_mailbox"]
    # In the receiving center's voice, naming the right address and what 159号 三（一） says of the route.
    assert wrong.message.startswith(f"本邮箱（{SH}）为{SH_CENTER}的受理邮箱，不受理广东省新职业信息征集的材料。")
    assert f"该通知所列电子邮箱为 {GD}（{GD_CENTER}）" in wrong.message
    assert (
        "按照粤人社函〔2026〕159号三、（一），" in wrong.message and "报所在地市人力资源社会保障部门" in wrong.message
    )

    body = reply_of(checked)
    assert f"{SH_CENTER}已于2026年7月1日10时00分收到" in body
    assert signature(body) == [SH_CENTER, "咨询、受理邮箱：yanfa312@126.com", "2026年7月1日"]
    assert GD_CENTER not in body.replace(f"{GD}（{GD_CENTER}）", "")  # Guangdong is named only as the right address
    assert "020-83305821" not in body
    assert "三、受理时间" not in body  # Guangdong's periods are not Shanghai's to announce


def test_a_shanghai_form_mailed_to_guangdong_is_answered_by_guangdong() -> None:
    checked = judge(letter(GD, datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)), [doc("建议书.docx", "docx",
                    "new_occupation_proposal", name="无人机群飞表演编队师", province="shanghai")])  # fmt: skip
    [wrong] = [finding for finding in checked.findings if finding.code == "wrong_mailbox"]
    assert wrong.message == (
        f"本邮箱（{GD}）为{GD_CENTER}的受理邮箱，不受理新职业征集的材料。"
        f"按照沪人社职〔2025〕77号，新职业征集的材料应发送至 {SH}（{SH_CENTER}），请改发至该邮箱。"
    )
    body = reply_of(checked)
    assert f"{GD_CENTER}已于" in body
    assert signature(body)[:2] == [
        GD_CENTER,
        "联系电话：020-83305821；电子邮箱：jnzx_zzyfk@gd.gov.cn；"
        "邮寄地址：广州市越秀区惠福东路546号就业服务大厦5楼广东省职业技能服务指导中心标准开发科，邮编：510115",
    ]


def test_loose_files_without_a_recipient_are_answered_by_the_tracks_center(gd_proposal: ParsedDocument) -> None:
    checked = judge(Mail(attachments=[], received=GD_OPEN, to=[]), [gd_proposal.model_copy(deep=True)])
    assert checked.status == "complete"
    assert signature(reply_of(checked))[0] == GD_CENTER


def test_a_decision_on_that_case_speaks_for_shanghai() -> None:
    received = GD_OPEN.astimezone(UTC)
    submission = Submission(reference="ZJ-2026Q3-7K3M9P", track="gd_new_occupation", notice="粤人社函〔2026〕159号",
                            status=SubmissionStatus.rejected, sender="hr@example.com", sender_name="某科技有限公司",
                            subject="新职业征集材料", created_at=received, updated_at=received)  # fmt: skip
    message = Message(sha256="0" * 64, size=1, source=MessageSource.smtp, envelope_to=[SH], received_at=received)
    mail = compose_decision(submission, message, "reject", "1. 请按粤人社函〔2026〕159号报送。", today=GD_OPEN)
    assert f"经{SH_CENTER}审核" in mail.body
    assert signature(mail.body) == [SH_CENTER, "咨询、受理邮箱：yanfa312@126.com", "2026年7月1日"]
    assert "020-83305821" not in mail.body
    # The same case received at the Guangdong mailbox is Guangdong's to decide.
    message.envelope_to = [GD]
    assert f"经{GD_CENTER}审核" in compose_decision(submission, message, "reject", "1. 理由。", today=GD_OPEN).body


def test_the_code_mail_speaks_for_the_mailbox_it_is_sent_from() -> None:
    code = CodeMail(to="hr@example.com", from_address=GD, office=SH_CENTER, channel="web", code="123456",
                    subject_of="本邮箱所发申报材料", minutes=15, attempts=5, today=GD_OPEN.date())  # fmt: skip
    sent = compose_code_mail(code)
    payload = sent.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode(sent.get_content_charset() or "utf-8")
    assert body.rstrip().splitlines()[-3:] == [GD_CENTER, load_registry().centers[1].contact, "2026年7月1日"]
    sender = str(make_header(decode_header(sent["From"])))
    assert GD_CENTER in sender and SH_CENTER not in body


# --- early is not late ------------------------------------------------------------------------------------


def test_a_recommendation_before_the_august_window_is_early_not_late() -> None:
    forms = [doc("推荐汇总表.docx", "docx", "special_ability_summary"), doc("建议书.docx", "docx",
             "special_ability_proposal"), doc("主要考核内容.docx", "docx", "special_ability_content")]  # fmt: skip
    checked = judge(letter(SH, datetime(2025, 8, 15, 10, 0, tzinfo=SHANGHAI), "专项职业能力推荐"), forms)
    assert (checked.track, checked.status) == ("special_ability_project", "rejected")
    [early] = [finding.message for finding in checked.findings if finding.code == "outside_window"]
    assert "尚未开始受理" in early and "2025年8月20日至8月30日" in early
    body = reply_of(checked)
    assert "逾期" not in body and "截止" not in body
    assert "本次发送的材料暂不能受理" in body and "不予受理" not in body
    assert "下一期受理时间为2025年8月20日至8月30日，请届时重新发送。" in body


def test_guangdong_mail_before_its_notice_says_the_collection_has_not_started(gd_proposal: ParsedDocument) -> None:
    checked = judge(letter(GD, datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI)), [gd_proposal.model_copy(deep=True)])
    [early] = [finding.message for finding in checked.findings if finding.code == "outside_window"]
    assert early == (
        "本邮件于2026年5月20日收到，广东省新职业信息征集尚未开始受理（粤人社函〔2026〕159号于2026年6月2日发布）。"
        "首期受理时间为2026年6月2日至8月10日，请届时重新发送。"
    )
    body = reply_of(checked)
    assert "逾期" not in body and signature(body)[0] == GD_CENTER


def test_mail_after_the_2024_collection_ended_is_late() -> None:
    rows = [{"seq": 1, "code": "4-04-05-05", "occupation": "人工智能训练师"}]
    forms = [doc("推荐表.docx", "docx", "skill_level_recommendation", rows=rows),
             doc("推荐表.pdf", "pdf", "skill_level_recommendation", rows=rows)]  # fmt: skip
    checked = judge(letter(SH, datetime(2024, 11, 15, 10, 0, tzinfo=SHANGHAI), "职业推荐"), forms)
    [late] = [finding.message for finding in checked.findings if finding.code == "outside_window"]
    assert (
        "沪人社职〔2024〕319号规定的社会化职业技能等级认定职业（工种）征集已于2024年10月22日截止，逾期不予受理。"
        in late
    )
    assert "此后的征集按沪人社职〔2025〕76号开展，下一期受理时间为2025年3月20日至3月30日" in late
    assert "经系统初步核验，本次申报不予受理" in reply_of(checked)


def test_the_decision_templates_tell_early_from_late() -> None:
    titles = {title: body for action, title, body in DEFAULT_TEMPLATES if action == "reject"}
    late = next(body for title, body in titles.items() if title.startswith("逾期"))
    early = next(body for title, body in titles.items() if title.startswith("未到受理时间"))
    assert "逾期" in late and "逾期" not in early and "尚未开始受理" in early


def test_a_rejection_of_early_mail_says_when_to_send_again() -> None:
    received = datetime(2025, 8, 15, 2, 0, tzinfo=UTC)
    submission = Submission(reference="ZJ-2025Q3-AAAAAA", track="special_ability_project",
                            status=SubmissionStatus.rejected, sender="a@example.com", created_at=received,
                            updated_at=received)  # fmt: skip
    message = Message(sha256="0" * 64, size=1, source=MessageSource.smtp, envelope_to=[SH], received_at=received)
    today = datetime(2025, 8, 16, 9, 0, tzinfo=SHANGHAI)
    reason = dict((title, body) for _, title, body in DEFAULT_TEMPLATES)["未到受理时间（受理开始前收到）"]
    mail = compose_decision(submission, message, "reject", reason, today=today)
    assert "下一期受理时间为2025年8月20日至8月30日。" in mail.body and "逾期" not in mail.body


# --- the 自助经办系统 --------------------------------------------------------------------------------------


def test_the_reply_to_an_organisation_says_the_formal_channel_is_the_system() -> None:
    documents = [doc("推荐函.docx", "docx", "evaluator_recommendation_letter", applicant="某培训中心")]
    checked = judge(letter(SH, datetime(2025, 6, 22, 10, 0, tzinfo=SHANGHAI), "社评组织申报材料"), documents)
    assert checked.track == "evaluator_org"
    body = reply_of(checked)
    note = next(line.strip() for line in body.splitlines() if "自助经办系统" in line)
    assert note.startswith(
        "请注意：按照沪人社职〔2025〕76号二、（四）3，社会培训评价组织征集遴选须通过上海市人力资源和社会保障自助经办系统申报"
    )
    assert "yanfa312@126.com 为咨询邮箱" in note
    assert "不能代替在上海市人力资源和社会保障自助经办系统中的正式申报" in note
    assert body.index(note) < body.index("一、收到的材料")  # near the top, before anything else


def test_institutions_of_140_apply_through_the_system_too() -> None:
    [(notice, rule)] = load_registry().track_rules("special_ability_institution")
    note = channel_text(rule, notice.number)
    assert note.startswith(
        "请注意：按照沪人社职〔2025〕140号三、（一）3，专项职业能力考核机构申报须通过上海市人力资源和社会保障自助经办系统申报"
    )
    [(notice, rule)] = load_registry().track_rules("special_ability_project")
    assert channel_text(rule, notice.number) == ""  # the departments' recommendations do go to the mailbox


def test_a_new_occupation_reply_says_nothing_of_the_system() -> None:
    checked = judge(letter(SH, datetime(2025, 6, 22, 10, 0, tzinfo=SHANGHAI)), [doc("建议书.docx", "docx",
                    "new_occupation_proposal", name="甲", province="shanghai")])  # fmt: skip
    assert "自助经办系统" not in reply_of(checked)


# --- Date: on every mail sent -----------------------------------------------------------------------------


def _dated(raw: bytes) -> datetime:
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Date"] is not None, raw[:400]
    return parsedate_to_datetime(str(parsed["Date"]))


def test_every_mail_sent_carries_a_date(tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    reply = Reply(message_id=1, sequence=1, to_address="hr@example.com", subject="Re: 材料", body="正文",
                  message_id_header="<r1@zhengji.local>", created_at=before)  # fmt: skip
    delivered = deliver_to_maildir(tmp_path, outgoing_message(reply, GD, "ZJ-1")).read_bytes()
    code = CodeMail(to="hr@example.com", from_address=SH, office=SH_CENTER, channel="web", code="123456",
                    subject_of="本邮箱所发申报材料", minutes=15, attempts=5, today=before.date())  # fmt: skip
    after = datetime.now(UTC) + timedelta(seconds=2)
    for raw in (delivered, compose_code_mail(code).as_bytes()):
        sent_at = _dated(raw)
        assert before <= sent_at <= after
        assert sent_at.utcoffset() == timedelta(hours=8)
    assert str(message_from_bytes(delivered, policy=default)["From"]) == f"{GD_CENTER} <{GD}>"
