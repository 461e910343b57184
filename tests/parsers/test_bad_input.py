"""Bad input never crashes or hangs: every broken file becomes a finding that tells the sender what to resend.

Everything runs through ``parse_attachment``, the path the service uses, with its worker process and limits.
"""

from __future__ import annotations

import random
import zipfile
from datetime import UTC, datetime
from io import BytesIO

import pytest

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.fixtures.forms.tables_docx import sh_summary_docx
from tests.mailbox.eml_builders import foxmail_mail
from tests.parsers.readers.office_files import blank_pdf, encrypted_pdf
from tests.parsers.test_archives import raw_zip, std_zip, zeros_member
from zhengji.mailbox.compose import compose_reply
from zhengji.mailbox.mime import parse_mail
from zhengji.parsers.document import ParseOptions, parse_attachment
from zhengji.parsers.isolation import Limits
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import Mail, judge

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
OPTIONS = ParseOptions(at=AT, limits=Limits(seconds=30, memory_bytes=1024**3))
CHINESE = set("请重新发送文件")


def only(documents: list[ParsedDocument]) -> ParsedDocument:
    assert len(documents) == 1
    return documents[0]


def assert_unreadable(document: ParsedDocument, *words: str) -> None:
    codes = [finding.code for finding in document.findings]
    assert codes == ["unreadable"], codes
    message = document.findings[0].message
    assert document.findings[0].severity == "error"
    assert CHINESE & set(message), message
    for word in words:
        assert word in message, message


@pytest.fixture(scope="module")
def proposal() -> bytes:
    return build_proposal_docx(sample_proposal())


def test_truncated_docx(proposal: bytes) -> None:
    assert_unreadable(only(parse_attachment("建议书.docx", proposal[: len(proposal) // 2], OPTIONS)), "Word")


def test_random_bytes_named_docx() -> None:
    noise = random.Random(7).randbytes(20_000)
    document = only(parse_attachment("建议书.docx", noise, OPTIONS))
    assert document.format == "unknown"
    assert_unreadable(document)


def test_encrypted_pdf() -> None:
    assert_unreadable(only(parse_attachment("建议书.pdf", encrypted_pdf(), OPTIONS)), "密码")


def test_pdf_of_5000_pages_is_refused_quickly() -> None:
    assert_unreadable(only(parse_attachment("汇编.pdf", blank_pdf(5000), OPTIONS)))


def test_zip_bomb_is_refused() -> None:
    bomb = raw_zip([zeros_member(b"zeros.docx", 1024)])
    assert_unreadable(only(parse_attachment("资料.zip", bomb, OPTIONS)), "资料.zip")


def test_nested_zips_are_opened_to_their_documents(proposal: bytes) -> None:
    inner = std_zip({"新职业信息建议书.docx": proposal})
    outer = std_zip({"第二层.zip": inner, "说明.txt": "请查收".encode()})
    documents = parse_attachment("材料.zip", outer, OPTIONS)
    by_file = {document.file: document for document in documents}
    assert by_file["材料.zip › 第二层.zip › 新职业信息建议书.docx"].form == "new_occupation_proposal"
    assert by_file["材料.zip › 说明.txt"].form == "unknown"


def test_a_worker_that_runs_out_of_time_gives_a_finding(proposal: bytes) -> None:
    slow = ParseOptions(at=AT, limits=Limits(seconds=0.001, memory_bytes=1024**3))
    assert_unreadable(only(parse_attachment("建议书.docx", proposal, slow)), "建议书.docx")


def test_fuzzed_docx_never_crashes_or_hangs(proposal: bytes) -> None:
    rng = random.Random(20250621)
    for _ in range(12):
        data = bytearray(proposal)
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.choice([len(data), rng.randrange(len(data))])
        for document in parse_attachment("建议书.docx", bytes(data[:cut]), OPTIONS):
            assert document.form in {"new_occupation_proposal", "unknown"}
            for finding in document.findings:
                assert finding.message


def test_corrupt_member_inside_a_good_zip(proposal: bytes) -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("好的.docx", proposal)
        archive.writestr("坏的.docx", proposal[:1000])
    documents = {doc.file: doc for doc in parse_attachment("材料.zip", buffer.getvalue(), OPTIONS)}
    assert documents["材料.zip › 好的.docx"].form == "new_occupation_proposal"
    assert_unreadable(documents["材料.zip › 坏的.docx"])


def test_malformed_mail_still_gets_a_clear_reply(proposal: bytes) -> None:
    raw = foxmail_mail(
        "新职业征集材料",
        ("某单位", "a@example.com"),
        ["yanfa312@126.com"],
        "附件请查收",
        [("建议书.docx", proposal[:3000])],
    )
    broken = raw.replace(b"\r\n\r\n", b"\r\nThis header has no colon\r\n\r\n", 1).rsplit(b"--", 2)[0]
    incoming = parse_mail(broken)
    mail = Mail(
        attachments=[(item.filename, item.data) for item in incoming.attachments],
        received=AT,
        to=incoming.to,
        sender=incoming.from_address,
        subject=incoming.subject,
    )
    documents = [doc for name, data in mail.attachments for doc in parse_attachment(name, data, OPTIONS)]
    checked = judge(mail, documents)
    reply = compose_reply(checked, reference="ZJ-2025Q2-7K3M9P", today=AT.date())
    assert "ZJ-2025Q2-7K3M9P" in reply.subject and "ZJ-2025Q2-7K3M9P" in reply.body
    assert "无法" in reply.body or "未能识别" in reply.body


@pytest.mark.parametrize("cut", [800, 20_000])
def test_a_corrupt_docx_is_a_word_file_to_save_again_and_no_archive(proposal: bytes, cut: int) -> None:
    # Cut before its Word parts (once called a damaged 压缩包) and cut in the middle: the same Word file either way.
    document = only(parse_attachment("新职业信息建议书.docx", proposal[:cut], OPTIONS))
    assert_unreadable(document, "新职业信息建议书.docx", "Word", "无法打开，请重新保存后发送")
    assert "压缩" not in document.findings[0].message


def test_the_reply_to_a_corrupt_form_tells_it_once_and_never_that_it_was_not_received(proposal: bytes) -> None:
    summary = sh_summary_docx()
    mail = Mail(
        attachments=[("新职业信息建议书.docx", proposal[:800]), ("新职业汇总表.docx", summary)],
        received=AT,
        to=["yanfa312@126.com"],
        subject="新职业征集材料",
    )
    documents = [doc for name, data in mail.attachments for doc in parse_attachment(name, data, OPTIONS)]
    checked = judge(mail, documents)
    body = compose_reply(checked, reference="ZJ-2025Q2-7K3M9P", today=AT.date()).body
    assert checked.status == "incomplete"
    assert body.count("无法打开，请重新保存后发送") == 1, body
    assert "未收到《新职业信息建议书》" not in body and "压缩包" not in body and "重新压缩" not in body, body
    assert not [finding for finding in checked.findings if finding.code == "missing_document"]


def test_an_unnamed_corrupt_file_does_not_hide_a_form_that_is_really_missing(proposal: bytes) -> None:
    # One damaged file cannot be both forms: the sender is asked for both, in one item, without "未收到".
    mail = Mail(attachments=[("材料.docx", proposal[:800])], received=AT, to=["yanfa312@126.com"], subject="新职业")
    checked = judge(mail, [doc for name, data in mail.attachments for doc in parse_attachment(name, data, OPTIONS)])
    [missing] = [finding for finding in checked.findings if finding.code == "missing_document"]
    assert "《新职业信息建议书》" in missing.message and "《新职业汇总表》" in missing.message
    assert "未收到" not in missing.message and "“材料.docx”" in missing.message
