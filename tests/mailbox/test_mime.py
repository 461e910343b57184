"""Decoding mail as Foxmail, NetEase web mail, Outlook and WPS send it, and mail that is broken."""

from __future__ import annotations

import base64
import logging
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from tests.mailbox.eml_builders import (
    encoded_words,
    foxmail_mail,
    netease_mail,
    outlook_mail,
    winmail_dat,
    wps_mail,
)
from zhengji.mailbox import mime
from zhengji.mailbox.mime import parse_mail

# 镕 喆 堃 昇 are in GBK but not in GB2312: a gb2312 decoder drops or garbles them.
SUBJECT = "关于推荐朱镕基、陈喆、李堃、王昇申报新职业的函（2025年第二批）"
SENDER = ("陈喆（上海某某职业技能培训中心）", "chenzhe@example.com")
BODY = "您好：\n附件为新职业信息建议书及汇总表，请查收。\n联系人：李堃"
FILES = [
    ("新职业信息建议书（陈喆）.docx", b"PK\x03\x04 docx " + bytes(range(256)) * 4),
    ("新职业汇总表-王昇.pdf", b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 3 + b"\x00\x00"),
    ("关于推荐上海某某职业技能培训中心成为社会培训评价组织的函及附件一至附件三（朱镕基）.xlsx", b"PK\x03\x04 xlsx"),
]

Builder = Callable[..., bytes]
CLIENTS: list[tuple[str, Builder, dict[str, object]]] = [
    ("foxmail-gb18030", foxmail_mail, {}),
    ("foxmail-gbk", foxmail_mail, {"charset": "GBK"}),
    ("netease-utf8", netease_mail, {}),
    ("netease-gbk-html-only", netease_mail, {"charset": "GBK", "html_only": True}),
    ("outlook", outlook_mail, {}),
    ("outlook-winmail", outlook_mail, {"tnef": True}),
    ("outlook-winmail-short-names", outlook_mail, {"tnef": True, "tnef_long_names": False}),
    ("wps-utf8", wps_mail, {}),
    ("wps-gbk", wps_mail, {"charset": "gbk"}),
]


@pytest.mark.parametrize(("builder", "options"), [c[1:] for c in CLIENTS], ids=[c[0] for c in CLIENTS])
def test_client_mail_decodes_exactly(builder: Builder, options: dict[str, object]) -> None:
    raw = builder(SUBJECT, SENDER, ["zhengji@rsj.sh.gov.cn", "copy@rsj.sh.gov.cn"], BODY, FILES, **options)
    mail = parse_mail(raw)
    assert mail.subject == SUBJECT
    assert (mail.from_name, mail.from_address) == SENDER
    assert mail.to == ["zhengji@rsj.sh.gov.cn", "copy@rsj.sh.gov.cn"]
    assert [(a.filename, a.data) for a in mail.attachments] == FILES
    assert mail.text == BODY
    assert mail.problems == []
    assert mail.auto_submitted is False
    assert mail.date == datetime(2025, 6, 20, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")


def test_builders_really_use_the_habits_they_claim() -> None:
    foxmail = foxmail_mail(SUBJECT, SENDER, ["a@b.cn"], BODY, FILES[:1])
    assert b'filename="=?GB18030?B?' in foxmail and b"X-Mailer: Foxmail" in foxmail
    outlook = outlook_mail(SUBJECT, SENDER, ["a@b.cn"], BODY, FILES[:1])
    assert b"=?gb2312?B?" in outlook and b"X-Mailer: Microsoft Outlook" in outlook
    assert b"application/ms-tnef" in outlook_mail(SUBJECT, SENDER, ["a@b.cn"], BODY, FILES[:1], tnef=True)
    netease = netease_mail(SUBJECT, SENDER, ["a@b.cn"], BODY, FILES)
    assert b"filename*0*=UTF-8''%E6" in netease and b"filename*1*=" in netease
    wps = wps_mail(SUBJECT, SENDER, ["a@b.cn"], BODY, FILES[:1], charset="gbk")
    assert b'filename="' + FILES[0][0].encode("gbk") + b'"' in wps


def test_gb2312_label_with_gbk_only_characters_keeps_them() -> None:
    words = encoded_words("朱镕基 陈喆 李堃 王昇", "gb2312", codec="gbk")
    body = base64.b64encode("堃昇喆镕".encode("gbk")).decode()
    raw = (
        f"From: a@b.cn\r\nSubject: {words}\r\nContent-Type: text/plain; charset=GB2312\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
    ).encode()
    mail = parse_mail(raw)
    assert mail.subject == "朱镕基 陈喆 李堃 王昇"
    assert mail.text == "堃昇喆镕"


@pytest.mark.parametrize("label", ["gbk", "GBK", "x-gbk", "cp936", "euc-cn", "GB2312", "gb18030"])
def test_every_gb_label_reads_as_gb18030(label: str) -> None:
    words = encoded_words("申报材料（喆）", label, codec="gb18030")
    mail = parse_mail(f"Subject: {words}\r\n\r\n".encode())
    assert mail.subject == "申报材料（喆）"


def test_encoded_words_split_inside_a_character_are_joined() -> None:
    words = encoded_words(SUBJECT, "GBK", chunk=7)
    first = base64.b64decode(words.split("?")[3])
    with pytest.raises(UnicodeDecodeError):
        first.decode("gbk")  # The first word alone ends in the middle of a character.
    assert parse_mail(f"Subject: {words}\r\n\r\n".encode()).subject == SUBJECT
    q_words = "=?UTF-8?Q?=E7=94=B3=E6?= =?UTF-8?Q?=8A=A5_=E6=9D=90=E6=96=99?="
    assert parse_mail(f"Subject: {q_words}\r\n\r\n".encode()).subject == "申报 材料"


def test_text_between_encoded_words_is_kept() -> None:
    subject = "Re: =?UTF-8?B?5Lit5paH?= and =?GBK?B?1tDOxA==?= done"
    assert parse_mail(f"Subject: {subject}\r\n\r\n".encode()).subject == "Re: 中文 and 中文 done"


def test_big5_and_utf8_mail() -> None:
    words = encoded_words("職業技能推薦表", "big5")
    body = base64.b64encode("請查收附件".encode("big5")).decode()
    raw = (
        f"Subject: {words}\r\nContent-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{body}\r\n"
    ).encode()
    mail = parse_mail(raw)
    assert (mail.subject, mail.text) == ("職業技能推薦表", "請查收附件")


def _mixed(*parts: bytes, headers: bytes = b"Subject: test\r\n") -> bytes:
    out = headers + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    for part in parts:
        out += b"--XX\r\n" + part + b"\r\n"
    return out + b"--XX--\r\n"


def _file_part(headers: str | bytes, data: bytes) -> bytes:
    head = headers.encode() if isinstance(headers, str) else headers
    return head + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(data) + b"\r\n"


def test_rfc2231_names_simple_and_continued() -> None:
    simple = (
        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=GBK''%C9%EA%B1%A8.docx"
    )
    continued = (
        "Content-Type: application/pdf\r\nContent-Disposition: attachment;\r\n"
        " filename*0*=utf-8''%E6%8E%A8%E8%8D; filename*1*=%90%E8%A1%A8; filename*2=.pdf"
    )
    mail = parse_mail(_mixed(_file_part(simple, b"one"), _file_part(continued, b"two")))
    assert [(a.filename, a.data) for a in mail.attachments] == [("申报.docx", b"one"), ("推荐表.pdf", b"two")]
    assert mail.problems == []


def test_name_parameter_of_content_type_when_disposition_has_none() -> None:
    part = 'Content-Type: application/msword; name="=?GBK?B?' + base64.b64encode("汇总表.doc".encode("gbk")).decode()
    mail = parse_mail(_mixed(_file_part(part + '?="', b"doc bytes")))
    assert [(a.filename, a.data, a.content_type) for a in mail.attachments] == [
        ("汇总表.doc", b"doc bytes", "application/msword")
    ]


def test_inline_files_and_pictures_in_the_text_are_kept_the_pictures_marked_embedded() -> None:
    # A picture shown in the HTML body (Content-ID, no name) is kept for staff, marked as part of the text, so that
    # it neither turns a question into a submission nor counts as a file the sender attached.
    named = 'Content-Type: image/png; name="盖章页.png"\r\nContent-Disposition: inline; filename="盖章页.png"'
    logo = "Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline"
    octet = "Content-Type: application/octet-stream"
    mail = parse_mail(
        _mixed(
            _file_part(named.encode(), b"\x89PNG seal"),
            _file_part(logo, b"\x89PNG logo"),
            _file_part(octet, b"%PDF-1.4"),
        )
    )
    assert [(a.filename, a.inline, a.embedded, a.data) for a in mail.attachments] == [
        ("盖章页.png", True, False, b"\x89PNG seal"),
        ("附件2.png", True, True, b"\x89PNG logo"),
        ("附件3.pdf", False, False, b"%PDF-1.4"),
    ]


def test_a_part_named_only_by_content_location_is_kept_under_that_name() -> None:
    pasted = (
        "Content-Type: image/jpeg\r\n"
        "Content-Location: file:///C:/Users/%E5%BC%A0%E4%B8%89/Desktop/%E7%9B%96%E7%AB%A0%E9%A1%B5.jpg"
    )
    document = "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n"
    located = document + "Content-Location: http://example.cn/files/%E5%BB%BA%E8%AE%AE%E4%B9%A6.docx?x=1"
    mail = parse_mail(_mixed(_file_part(pasted, b"\xff\xd8\xffJFIF"), _file_part(located, b"PK\x03\x04docx")))
    assert [(a.filename, a.data, a.embedded) for a in mail.attachments] == [
        ("盖章页.jpg", b"\xff\xd8\xffJFIF", True),
        ("建议书.docx", b"PK\x03\x04docx", False),
    ]


def test_forwarded_mail_attachments_and_subject_are_kept() -> None:
    inner = netease_mail("推荐表（原件）", ("李堃", "likun@163.com"), ["x@y.cn"], "原邮件正文", FILES[:1])
    raw = _mixed(
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "转发给您。".encode(),
        b'Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"\r\n\r\n' + inner,
        _file_part('Content-Type: application/pdf; name="b.pdf"', b"%PDF outer"),
    )
    mail = parse_mail(raw)
    assert mail.forwarded_subjects == ["推荐表（原件）"]
    assert [(a.filename, a.data) for a in mail.attachments] == [FILES[0], ("b.pdf", b"%PDF outer")]
    assert mail.text.startswith("转发给您。") and "原邮件正文" in mail.text


def test_file_names_are_nfc_and_without_paths() -> None:
    nfd = unicodedata.normalize("NFD", "Résumé推荐表.docx")
    windows = "C:\\Users\\张三\\Desktop\\建议书.docx"
    parts = [
        _file_part(
            f'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="{n}"'.encode(), b"x"
        )
        for n in (nfd, windows.replace("\\", "\\\\"), "../../etc/汇总表.pdf")
    ]
    mail = parse_mail(_mixed(*parts))
    assert [a.filename for a in mail.attachments] == ["Résumé推荐表.docx", "建议书.docx", "汇总表.pdf"]


def test_winmail_dat_that_is_not_tnef_is_kept_with_a_problem() -> None:
    part = 'Content-Type: application/ms-tnef; name="winmail.dat"'
    mail = parse_mail(_mixed(_file_part(part, b"not tnef at all")))
    assert [(a.filename, a.data) for a in mail.attachments] == [("winmail.dat", b"not tnef at all")]
    assert mail.problems == ["无法解开 Outlook 附件包 winmail.dat，已原样保留。"]


def test_winmail_dat_builder_round_trips_through_tnefparse() -> None:
    import tnefparse

    tnef = tnefparse.TNEF(winmail_dat(FILES))
    assert [bytes(a.data) for a in tnef.attachments] == [data for _, data in FILES]


# --- broken mail ------------------------------------------------------------------------------------------------


def test_missing_closing_boundary_keeps_the_parts() -> None:
    raw = _mixed(_file_part('Content-Type: application/pdf; name="a.pdf"', b"%PDF-1.7 whole")).replace(
        b"--XX--\r\n", b""
    )
    mail = parse_mail(raw)
    assert [(a.filename, a.data) for a in mail.attachments] == [("a.pdf", b"%PDF-1.7 whole")]
    assert mail.problems == ["邮件的 MIME 结构不完整（缺少结束分隔线），已尽量读取其中的内容。"]


def test_bad_base64_padding_is_decoded_with_a_problem() -> None:
    data = b"%PDF-1.7 padded!"
    encoded = base64.b64encode(data).rstrip(b"=")[:-1]  # Padding lost and one character cut off.
    part = b'Content-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + encoded
    mail = parse_mail(_mixed(part))
    assert mail.attachments[0].data.startswith(b"%PDF-1.7 padded")
    assert mail.problems == ["“a.pdf”的 base64 编码不完整，已尽量解码，内容可能不完整。"]


def test_header_line_without_colon_is_dropped_and_later_headers_kept() -> None:
    raw = b"Subject: =?UTF-8?B?5Lit5paH?=\r\nthis line has no colon\r\nFrom: Zhang <z@a.cn>\r\n\r\nbody\r\n"
    mail = parse_mail(raw)
    assert (mail.subject, mail.from_address, mail.text) == ("中文", "z@a.cn", "body")
    assert mail.problems == ["邮件头中有一行格式不正确（缺少冒号），已忽略：“this line has no colon”。"]


def test_unknown_charset_falls_back_with_a_problem() -> None:
    raw = "Subject: =?x-klingon?B?5Lit5paH?=\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\n正文".encode()
    mail = parse_mail(raw)
    assert (mail.subject, mail.text) == ("中文", "正文")
    assert mail.problems == ["邮件头中的编码文字声明的字符集“x-klingon”无法识别，已按 UTF-8 或 GB18030 解读。",
                             "正文声明的字符集“x-klingon”无法识别，已按 UTF-8 或 GB18030 解读。"]  # fmt: skip


def test_body_labelled_utf8_but_written_in_gbk_is_still_read() -> None:
    raw = b"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "申报材料".encode("gbk")
    assert parse_mail(raw).text == "申报材料"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \r\n\r\n\x80",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all",
        b'Content-Type: multipart/mixed; boundary="A"\r\n\r\n--A\r\nContent-Type: message/rfc822\r\n\r\n--A',
        b"Subject: =?utf-8?B?!!!?=\r\nFrom: <<<>>>\r\nDate: not a date\r\n\r\n",
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    mail = parse_mail(raw)
    assert isinstance(mail.problems, list)


def test_html_only_body_becomes_text() -> None:
    raw = (
        "Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><style>p{color:red}</style></head><body><p>您好：</p><p>材料见附件&nbsp;。</p>"
        "<table><tr><td>姓名</td><td>陈喆</td></tr></table></body></html>"
    ).encode()
    assert parse_mail(raw).text == "您好：\n\n材料见附件 。\n\n姓名\t陈喆"


def test_threading_headers_and_cc() -> None:
    raw = (
        b"Message-ID: <abc@x.cn>\r\nIn-Reply-To: <prev@zhengji>\r\nReferences: <a@zhengji>\r\n <prev@zhengji>\r\n"
        b"Cc: =?UTF-8?B?5p2O5aCD?= <likun@x.cn>, other@y.cn\r\nSubject: Re\r\n\r\nx"
    )
    mail = parse_mail(raw)
    assert mail.message_id == "<abc@x.cn>" and mail.in_reply_to == "<prev@zhengji>"
    assert mail.references == ["<a@zhengji>", "<prev@zhengji>"]
    assert mail.cc == ["likun@x.cn", "other@y.cn"]


@pytest.mark.parametrize(
    ("header", "auto"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: no", False),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("List-Unsubscribe: <mailto:u@list.cn>", True),
        ("X-Auto-Response-Suppress: All", True),
        ("Return-Path: <>", True),
        ("Return-Path: <chenzhe@example.com>", False),
        ("From: MAILER-DAEMON@mx.example.com", True),
        ("From: postmaster@example.com", True),
        ("From: noreply@example.com", True),
        ("From: no-reply@example.com", True),
        ("X-Priority: 3", False),
    ],
)
def test_auto_submitted_mail_is_recognised(header: str, auto: bool) -> None:
    raw = f"{header}\r\nSubject: x\r\n\r\nbody".encode()
    if not header.startswith("From:"):
        raw = b"From: chenzhe@example.com\r\n" + raw
    mail = parse_mail(raw)
    assert mail.auto_submitted is auto
    assert bool(mail.auto_reason) is auto


def test_a_winmail_dat_that_cannot_be_unpacked_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    part = 'Content-Type: application/ms-tnef; name="winmail.dat"'
    with caplog.at_level(logging.INFO, logger="zhengji.mime"):
        parse_mail(_mixed(_file_part(part, b"not tnef at all")))
    [record] = [record for record in caplog.records if "winmail.dat" in record.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.exc_info is not None  # the traceback says why, for whoever fixes it


def test_a_mail_that_defeats_the_decoder_is_noted_for_the_clerk_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_walk(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(mime, "_walk", broken_walk)
    with caplog.at_level(logging.INFO, logger="zhengji.mime"):
        mail = parse_mail(_mixed(_file_part("Content-Type: application/pdf; name=a.pdf", b"%PDF-1.7")))
    assert mail.problems == ["邮件结构无法完整解析（RecursionError），请人工查看原始邮件。"]
    assert "could not be fully decoded" in caplog.text
    assert "RecursionError" in caplog.text


def test_a_header_word_of_bad_base64_is_skipped_with_a_note_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    raw = b"Subject: =?UTF-8?B?5Y2X5Lqs?= =?UTF-8?B?QUJDR?=\r\n\r\nbody\r\n"
    with caplog.at_level(logging.INFO, logger="zhengji.mime"):
        mail = parse_mail(raw)
    assert mail.subject.startswith("南京")
    assert "邮件头中有一段 base64 编码有误，已跳过无法解码的部分。" in mail.problems
    assert "bad base64" in caplog.text
