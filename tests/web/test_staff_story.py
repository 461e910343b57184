"""Issue 15's story of the staff desk, as a reviewer clicks and reads it in Debian's Chromium (Playwright with
``executable_path``; Playwright's own browser download is never used).

One running web app, several cases, every mail taken in and answered by the real pipeline:

1. a reviewer declines a case (不予受理, with a reason) by keyboard alone: the skip link, the arrow keys of the
   decision's choices, Tab and Enter, and Enter again on the mail's confirmation; the form preselects nothing, and
   sent first without a reason it is refused in Chinese with 不予受理 still chosen; a second reviewer corrects a field
   in their own browser; the applicant's later mail arrives in the same thread; the case page and the queue still
   show the person's 不予受理, and the case cannot be decided again;
2. a resubmission that only adds the PDF of the same Word form: the versions panel says 内容无变化; a form sent as
   Word and PDF is shown once, the field where the copies differ marked with both values;
3. the audit trail of the declined case reads in Chinese (no "received → parsed", no ``recheck``, no dotted keys);
4. the same occupation sent in two cases is flagged on both queue rows, and the 汇总表 downloaded from the exports
   page marks it in its 备注 column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.mailbox.eml_builders import foxmail_mail
from tests.web.staff_support import (
    ADMIN,
    PASSWORD,
    REVIEWER,
    SH_BOX,
    RunningWeb,
    latest_reference,
    make_settings,
    prepare_database,
    process,
    proposal_mail,
    with_received,
)
from tests.web.test_staff_browser import ARTIFACTS, CHROMIUM_ARGS, VIEWPORT, _chromium
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.settings import Settings
from zhengji.storage.db import make_engine

DECLINED = ("上海低空物流有限公司", "dk@example.com")
AGAIN = ("上海补件科技有限公司", "again@example.com")
TWIN = ("上海双版本科技有限公司", "twin@example.com")
DUPLICATE_A = ("上海智运科技有限公司", "a@zhiyun.example.com")
DUPLICATE_B = ("上海智运科技有限公司", "b@zhiyun-sh.example.com")
WINDOW = "2025-06-20"
REASON = "1. 该职业已收录于《中华人民共和国职业分类大典》，不属于新职业。"


def _answering(raw: bytes, message_id: str) -> bytes:
    """The applicant's mail as a reply to their first one (threaded by In-Reply-To, as a mail client does)."""
    return f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\n".encode("ascii") + raw


def _word(occupation: str, phone: str) -> bytes:
    sample = sample_proposal("shanghai")
    return build_proposal_docx(
        replace(sample, name=occupation, contact=replace(sample.contact, phone=phone)), province="shanghai"
    )


def _files_mail(sender: tuple[str, str], files: list[tuple[str, bytes]], message_id: str, when: str) -> bytes:
    raw = foxmail_mail(
        f"新职业征集材料-{sender[0]}", sender, [SH_BOX], "您好！\r\n\r\n附件为申报材料，请查收。", files,
        message_id=message_id,
    )  # fmt: skip
    return with_received(raw, when)


@dataclass
class Desk:
    web: RunningWeb
    word: bytes  # the 建议书 of the resubmission case, sent again with its PDF
    pdf: bytes

    @property
    def settings(self) -> Settings:
        return self.web.settings

    def reference(self, sender: str) -> str:
        return latest_reference(self.settings, sender)

    def mail_in(self, *mails: bytes) -> None:
        """Mails taken in as the SMTP server takes them and answered by the pipeline, while the desk runs."""
        engine = make_engine(self.settings.resolved_database_url)
        process(engine, self.settings, list(mails))
        engine.dispose()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    _chromium()
    settings = make_settings(tmp_path_factory.mktemp("story") / "data")
    engine = prepare_database(settings)
    word = _word("数字孪生运维员", "021-60001234")
    pdf = convert_with_libreoffice(word, "docx", "pdf")
    # A 建议书 whose PDF copy was exported before the phone number was corrected in the Word file.
    stale_pdf = convert_with_libreoffice(_word("低空航线规划员", "021-64689999"), "docx", "pdf")
    process(
        engine,
        settings,
        [
            proposal_mail(
                occupation="低空物流调度员", phone="1234", sender=DECLINED, message_id="<story-declined-1@example.com>"
            ),
            _files_mail(AGAIN, [("新职业信息建议书.docx", word)], "<story-again-1@example.com>",
                        "Mon, 23 Jun 2025 10:30:00 +0800"),
            _files_mail(TWIN, [("新职业信息建议书.docx", _word("低空航线规划员", "021-64681234")),
                               ("新职业信息建议书.pdf", stale_pdf)],
                        "<story-twin@example.com>", "Mon, 23 Jun 2025 11:30:00 +0800"),
            proposal_mail(occupation="智能体运维员", phone="021-60000000", sender=DUPLICATE_A,
                          message_id="<story-dup-a@example.com>"),
            # The same occupation again, from another address, typed with a space.
            proposal_mail(occupation="智能体 运维员", phone="021-60000000", sender=DUPLICATE_B,
                          message_id="<story-dup-b@example.com>", when="Tue, 24 Jun 2025 09:30:00 +0800"),
        ],
    )  # fmt: skip
    engine.dispose()
    with RunningWeb(settings) as web:
        yield Desk(web, word, pdf)


def test_a_reviewers_day_in_the_browser(desk: Desk) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        try:
            reviewer = browser.new_context(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True)
            admin = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            pages = [reviewer.new_page(), admin.new_page()]
            for page in pages:
                page.on("pageerror", lambda error: problems.append(str(error)))
            _sign_in(pages[0], desk, REVIEWER)
            _sign_in(pages[1], desk, ADMIN)
            _a_decision_stands(pages[0], pages[1], desk)
            _a_pdf_added_changes_nothing(pages[0], desk)
            _one_view_per_form(pages[0], desk)
            _duplicates_in_the_queue_and_the_export(pages[0], desk)
        finally:
            browser.close()
    assert problems == []


def _sign_in(page: object, desk: Desk, name: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{desk.web.base}/staff/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff/queue"))


def _a_decision_stands(page: object, other: object, desk: Desk) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page) and isinstance(other, Page)
    base = desk.web.base
    reference = desk.reference(DECLINED[1])
    case_url = f"{base}/staff/submissions/{reference}"
    page.goto(case_url)
    decision = page.locator("#decision")
    expect(page.locator("#case-verdict-decision")).to_have_text("系统核验：材料需补正 · 审核决定：尚未决定")
    expect(decision.locator("input[name=action]:checked")).to_have_count(0)  # nothing preselected

    # By keyboard alone: Tab to the skip link, Enter into the decision, the arrow keys to 不予受理, Tab to the
    # reason, type it, Tab to 预览邮件, Enter; the confirmation's 确认并发送 has the focus, Enter sends.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('skip-link')"):
            break
    else:
        raise AssertionError("no skip link within the first 12 tab stops")
    expect(page.locator(".skip-link")).to_have_text("跳到审核决定")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.closest('#decision') !== null")
    assert page.evaluate("document.activeElement.value") == "accept"
    for _ in range(3):
        if page.evaluate("document.activeElement.value") == "reject":
            break
        page.keyboard.press("ArrowDown")
    expect(decision.locator("input[name=action][value=reject]")).to_be_checked()
    expect(decision.locator("input[name=action]:checked")).to_have_count(1)
    _tab_to_reason(page)
    # Sent without a reason: refused in Chinese, 不予受理 still chosen and nothing else.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".alert.error")).to_contain_text("须填写理由")
    expect(decision.locator("input[name=action][value=reject]")).to_be_checked()
    expect(decision.locator("input[name=action]:checked")).to_have_count(1)
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('skip-link')"):
            break
    else:
        raise AssertionError("no skip link on the refused form's page")
    page.keyboard.press("Enter")
    _tab_to_reason(page)
    page.keyboard.type(REASON)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "预览邮件"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("确认审核决定：不予受理")
    expect(page.locator(".mail-preview")).to_contain_text("该职业已收录于《中华人民共和国职业分类大典》")
    assert page.evaluate("document.activeElement.textContent.trim()") == "确认并发送"
    page.screenshot(path=str(ARTIFACTS / "staff-story-decline-preview.png"))
    page.keyboard.press("Enter")
    expect(page.locator("#case-status")).to_have_text("经审核不予受理")
    expect(page.locator("#case-verdict-decision")).to_have_text("系统核验：材料需补正 · 审核决定：不予受理")

    # A second reviewer, in their own browser, corrects the phone number the machine found wrong.
    other.goto(case_url)
    phone = other.locator('tr.field[data-path="contact.phone"]')
    expect(phone.locator(".finding")).to_contain_text("电话有误")
    phone.locator(".v").first.click()
    phone.locator("textarea[name=value]").fill("021-64681234")
    phone.locator("button", has_text="保存更正").click()
    expect(other.locator(".alert.ok")).to_contain_text("已保存更正")
    expect(other.locator('tr.field[data-path="contact.phone"] .finding')).to_have_count(0)
    expect(other.locator("#case-verdict-decision")).to_contain_text("审核决定：不予受理")

    # The applicant writes again in the same thread, through the real pipeline.
    desk.mail_in(
        _answering(
            proposal_mail(
                occupation="低空物流调度员",
                phone="021-64681234",
                sender=DECLINED,
                message_id="<story-declined-2@example.com>",
                when="Wed, 25 Jun 2025 09:30:00 +0800",
            ),
            "<story-declined-1@example.com>",
        )
    )
    assert desk.reference(DECLINED[1]) == reference  # filed to the case, no new one

    # The person's decision stands, on the case page ...
    page.goto(case_url)
    expect(page.locator("#case-status")).to_have_text("经审核不予受理")
    expect(page.locator("#case-verdict-decision")).to_contain_text("审核决定：不予受理")
    expect(page.locator("#case-new-mail")).to_contain_text("决定后收到新邮件")
    expect(page.locator(".case-head")).to_contain_text("第 2 版")
    expect(decision).to_contain_text("该申报已有审核决定“不予受理”，不能再作审核决定")
    expect(decision.locator("input[name=action]")).to_have_count(0)
    expect(decision.locator("button")).to_have_count(0)
    page.locator("h1").click()
    page.keyboard.press("a")  # the accept key does nothing on a decided case
    expect(page).to_have_url(re.compile(rf"/staff/submissions/{reference}$"))
    expect(page.locator(".mail-preview")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "staff-story-declined.png"), full_page=False)

    # ... and the audit trail says what happened in Chinese (issue 15: "received → parsed", recheck, contact.email).
    cells = page.locator("#trail tbody td").all_inner_texts()
    trail = "\n".join(cells)
    assert "已收到 → 附件已读取" in trail, trail
    assert "不予受理" in trail and REASON in trail
    assert "重新核验" in trail and "电话" in trail, trail
    assert "→ parsed" not in trail and "received" not in trail
    assert not re.search(r"\b(received|parsed|checked|replied|recheck|status|verdict|pipeline|declined)\b", trail)
    assert not re.search(r"\b[a-z_]+\.[a-z_]+\b", re.sub(r"[\w.+-]+@[\w.-]+", "", trail)), trail
    rows = page.locator("#trail tbody tr")
    assert rows.count() >= 6
    for index in range(rows.count()):
        action = rows.nth(index).locator("td").nth(2).inner_text()
        assert re.search(r"[\u4e00-\u9fff]", action), action  # every event is named in Chinese

    # ... and in the queue.
    page.goto(f"{base}/staff/queue?q={reference}")
    row = page.locator(f'tr[data-reference="{reference}"]')
    expect(row.locator(".c-status .badge")).to_have_text("经审核不予受理")
    expect(row.locator(".c-status")).to_contain_text("决定后收到新邮件")
    # Nothing is asked of a declined case any more: the problems column says so, not "N 项须补正".
    expect(row.locator(".c-codes")).to_contain_text("经审核不予受理")
    expect(row.locator(".c-codes")).not_to_contain_text("项须补正")
    expect(page.locator("tr[data-reference]")).to_have_count(1)


def _tab_to_reason(page: object) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "reason":
            return
    raise AssertionError("Tab does not reach the reason")


def _one_view_per_form(page: object, desk: Desk) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{desk.web.base}/staff/submissions/{desk.reference(TWIN[1])}")
    forms = page.locator("article.doc.form-view")
    expect(forms).to_have_count(1)  # the Word and the PDF copy of one 建议书 are one form
    expect(forms).to_contain_text("Word版与PDF版 1 处不一致")
    phone = page.locator('tr.field[data-path="contact.phone"]')
    expect(phone).to_have_class(re.compile(r"\bdiffers\b"))
    expect(phone.locator(".v").first).to_contain_text("021-64681234")
    expect(phone.locator(".twin-diff")).to_contain_text("PDF版")
    expect(phone.locator(".twin-diff")).to_contain_text("021-64689999")
    expect(page.locator('tr.field[data-path="name"]')).not_to_have_class(re.compile(r"\bdiffers\b"))
    expect(page.locator(".form-view tr.field.differs")).to_have_count(1)
    # A click on the value opens its correction.
    phone.locator(".v").first.click()
    expect(phone.locator("textarea[name=value]")).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "staff-story-twin.png"))


def _a_pdf_added_changes_nothing(page: object, desk: Desk) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    reference = desk.reference(AGAIN[1])
    desk.mail_in(
        _files_mail(AGAIN, [("新职业信息建议书.docx", desk.word), ("新职业信息建议书.pdf", desk.pdf)],
                    "<story-again-2@example.com>", "Tue, 24 Jun 2025 09:30:00 +0800"),
    )  # fmt: skip
    assert desk.reference(AGAIN[1]) == reference
    page.goto(f"{desk.web.base}/staff/submissions/{reference}")
    versions = page.locator("#versions article.version")
    expect(versions).to_have_count(2)
    second = versions.filter(has=page.locator("h3", has_text="第 2 版"))
    expect(second.locator(".unchanged")).to_have_text("内容无变化：各表格的各栏内容与上一版相同。")
    expect(second.locator("table.diff")).to_have_count(0)
    expect(second.locator(".file-changes li")).to_have_text(["新增 新职业信息建议书.pdf"])
    expect(page.locator("#versions")).not_to_contain_text("category_ticks")
    first = versions.filter(has=page.locator("h3", has_text="第 1 版"))
    expect(first).to_contain_text("首次提交。")
    # The Word form and its PDF are one form on the page, the PDF beside it.
    expect(page.locator("article.doc.form-view")).to_have_count(1)
    expect(page.locator("iframe[name=preview]")).to_be_visible()


def _duplicates_in_the_queue_and_the_export(page: object, desk: Desk) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = desk.web.base
    first, second = desk.reference(DUPLICATE_A[1]), desk.reference(DUPLICATE_B[1])
    assert first != second
    page.goto(f"{base}/staff/queue")
    for reference, other in ((first, second), (second, first)):
        mark = page.locator(f'tr[data-reference="{reference}"] .mark-duplicate')
        expect(mark).to_have_text(f"疑似重复申报：另见 {other}")
    marked = page.locator("tr[data-reference]").filter(has=page.locator(".mark-duplicate"))
    expect(marked).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "staff-story-duplicates.png"))

    # Accepting one of them (a shows the mail first, Enter confirms), then downloading the window's 汇总表.
    page.locator(f'tr[data-reference="{first}"] .c-ref a').click()
    expect(page).to_have_url(re.compile(rf"/staff/submissions/{first}"))
    page.locator("h1").click()
    page.keyboard.press("a")
    expect(page.locator(".mail-preview")).to_contain_text("现予受理")
    page.keyboard.press("Enter")
    expect(page.locator("#case-status")).to_have_text("已受理")

    page.goto(f"{base}/staff/exports")
    with page.expect_download() as download_info:
        page.click(f"a[href='/staff/exports/new_occupation.xlsx?window={WINDOW}']")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = download.path()
    assert path is not None
    rows = [
        [cell for cell in row if cell is not None]
        for row in load_workbook(io.BytesIO(Path(path).read_bytes())).active.iter_rows(values_only=True)
    ]
    assert ["序号", "新职业名称", "新职业建议单位", "备注"] in rows, rows
    listed = [row for row in rows if row and str(row[0]).isdigit()]
    assert len(listed) == 1, listed
    assert listed[0][1] == "智能体运维员" and listed[0][-1] == f"与{second}重复申报", listed
