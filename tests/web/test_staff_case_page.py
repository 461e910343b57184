"""The case page a reviewer works on (issue 15, "Reading a case" and "Keyboard and reading").

Real mails go through the real pipeline; the page is read over HTTP and in Debian's Chromium (Playwright with
``executable_path``). Each form is shown once, its Word reading with its PDF beside it and the fields the copies
read differently marked with both values; the versions diff pairs files by form and format (a resubmission that
only adds the PDFs changes nothing, a file sent with other bytes is 已替换), and the reply says the same; the audit
trail is in Chinese; a wrong public address answers a Chinese page; the page is usable by keyboard (a skip link to
the decision, a/r/n, one tab stop a form for its corrections), its text colours reach WCAG AA, and 预览邮件 is on the
first screen at 1366×768. Screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.mailbox.eml_builders import foxmail_mail
from tests.mailbox.pipeline_support import body_of, outbox
from tests.web.staff_support import (
    PASSWORD,
    REVIEWER,
    SH_BOX,
    RunningWeb,
    StaffClient,
    latest_reference,
    make_settings,
    prepare_database,
    process,
    with_received,
)
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.settings import Settings
from zhengji.storage.db import make_engine

STATIC = Path(__file__).resolve().parents[2] / "zhengji" / "web" / "static"
TWIN_SENDER = ("上海双版本科技有限公司", "twin@example.com")
VERSION_SENDER = ("上海补件科技有限公司", "again@example.com")


def _proposal(phone: str, occupation: str) -> bytes:
    sample = sample_proposal("shanghai")
    data = replace(sample, name=occupation, contact=replace(sample.contact, phone=phone))
    return build_proposal_docx(data, province="shanghai")


def _mail(sender: tuple[str, str], files: list[tuple[str, bytes]], message_id: str, when: str) -> bytes:
    raw = foxmail_mail(
        f"新职业征集材料-{sender[0]}", sender, [SH_BOX], "您好！\r\n\r\n附件为申报材料，请查收。", files,
        message_id=message_id,
    )  # fmt: skip
    return with_received(raw, when)


@dataclass
class Desk:
    web: RunningWeb
    reviewer: StaffClient
    word: bytes  # the 建议书 of the version-diff case, sent in every version
    pdf: bytes

    @property
    def settings(self) -> Settings:
        return self.web.settings

    def reference(self, sender: str) -> str:
        return latest_reference(self.settings, sender)

    def send(self, *mails: bytes) -> None:
        engine = make_engine(self.settings.resolved_database_url)
        process(engine, self.settings, list(mails))
        engine.dispose()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    settings = make_settings(tmp_path_factory.mktemp("case-page") / "data")
    engine = prepare_database(settings)
    # A 建议书 whose PDF copy was exported before the phone number was corrected in the Word file.
    word = _proposal("021-64681234", "低空航线规划员")
    stale_pdf = convert_with_libreoffice(_proposal("021-64689999", "低空航线规划员"), "docx", "pdf")
    # The version-diff case: Word alone first, then the same Word file with its PDF.
    again_word = _proposal("021-60001234", "数字孪生运维员")
    again_pdf = convert_with_libreoffice(again_word, "docx", "pdf")
    process(
        engine,
        settings,
        [
            _mail(TWIN_SENDER, [("新职业信息建议书.docx", word), ("新职业信息建议书.pdf", stale_pdf)],
                  "<twin-copies@example.com>", "Mon, 23 Jun 2025 09:30:00 +0800"),
            _mail(VERSION_SENDER, [("新职业信息建议书.docx", again_word)],
                  "<again-1@example.com>", "Mon, 23 Jun 2025 10:30:00 +0800"),
        ],
    )  # fmt: skip
    engine.dispose()
    with RunningWeb(settings) as web:
        reviewer = StaffClient(web.base)
        reviewer.login(REVIEWER)
        yield Desk(web, reviewer, again_word, again_pdf)
        reviewer.close()


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start) : page.index(end, page.index(start))]


def test_each_form_is_shown_once_with_the_fields_its_copies_read_differently(desk: Desk) -> None:
    reference = desk.reference(TWIN_SENDER[1])
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    forms = re.findall(r'<article class="doc form-view"', page)
    assert len(forms) == 1, "the Word and the PDF copy of one 建议书 are one form on the page"
    assert "新职业信息建议书.pdf" in page and "新职业信息建议书.docx" in page
    row = re.search(r'<tr class="field[^"]*" data-path="contact\.phone".*?</tr>', page, re.S)
    assert row is not None
    assert "differs" in row[0].split(">")[0]
    assert "021-64681234" in row[0] and "021-64689999" in row[0]
    assert "Word版与PDF版 1 处不一致" in page
    # A field the copies agree on is not marked.
    name = re.search(r'<tr class="field[^"]*" data-path="name"[^>]*>', page)
    assert name is not None and "differs" not in name[0]
    # The case's own list does not repeat what the form's field shows.
    whole = page[page.index('id="case"') : page.index('class="doc form-view"')]
    assert "021-64689999" not in whole


def test_a_resubmission_that_only_adds_the_pdf_changes_nothing_and_a_new_file_replaces_the_old(desk: Desk) -> None:
    reference = desk.reference(VERSION_SENDER[1])
    desk.send(
        _mail(VERSION_SENDER, [("新职业信息建议书.docx", desk.word), ("新职业信息建议书.pdf", desk.pdf)],
              "<again-2@example.com>", "Tue, 24 Jun 2025 09:30:00 +0800"),
    )  # fmt: skip
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    versions = _section(page, 'id="versions"', 'id="trail"')
    second = _section(versions, "第 2 版", "第 1 版")
    assert "内容无变化" in second
    assert "<table" not in second, "no field is listed as changed"
    assert re.search(r"新增</span>\s*新职业信息建议书\.pdf", second)
    assert "不再包含" not in second and "已替换" not in second
    assert "category_ticks" not in versions

    reply = _reply_of(desk, "<again-2@example.com>")
    news = [line for line in reply.splitlines() if "本次新收到" in line]
    assert news and all("新职业信息建议书.pdf" in line and ".docx" not in line for line in news)

    # A third version: the Word file again under its name, with another phone number: 已替换, one changed field.
    desk.send(
        _mail(VERSION_SENDER, [("新职业信息建议书.docx", _proposal("021-60005678", "数字孪生运维员")),
                               ("新职业信息建议书.pdf", desk.pdf)],
              "<again-3@example.com>", "Wed, 25 Jun 2025 09:30:00 +0800"),
    )  # fmt: skip
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    third = _section(_section(page, 'id="versions"', 'id="trail"'), "第 3 版", "第 2 版")
    assert re.search(r"已替换</span>\s*新职业信息建议书\.docx", third)
    assert "新增" not in third and "不再包含" not in third
    changes = re.findall(r"<tr><td>新职业信息建议书</td><td>([^<]*)</td><td><del>([^<]*)</del></td>", third)
    assert changes == [("联系电话", "021-60001234")], "each changed field once, by its form label"
    reply = _reply_of(desk, "<again-3@example.com>")
    assert "已替换：新职业信息建议书.docx" in reply and "本次新收到" not in reply


def _reply_of(desk: Desk, message_id: str) -> str:
    for sent in outbox(desk.settings):
        mail = message_from_bytes(bytes(sent), policy=policy.default)
        if mail["In-Reply-To"] == message_id:
            return body_of(bytes(sent))
    raise AssertionError(f"no reply to {message_id}")


def test_the_audit_trail_is_in_chinese(desk: Desk) -> None:
    reference = desk.reference(TWIN_SENDER[1])
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    document_id = re.search(r'name="document_id" value="(\d+)"', page)
    assert document_id is not None
    desk.reviewer.refresh_token(f"/staff/submissions/{reference}")
    answer = desk.reviewer.post(
        f"/staff/submissions/{reference}/corrections",
        {"document_id": document_id[1], "path": "contact.email", "value": "hr@twin.example.com"},
    )
    assert answer.status_code == 303
    page = desk.reviewer.get(f"/staff/submissions/{reference}").text
    trail = _section(page, 'id="trail"', "</section>")
    cells = re.findall(r"<td>([^<]*)</td>", trail)
    text = "\n".join(cells)
    assert "已收到 → 附件已读取" in text
    assert "更正《新职业信息建议书》Word版“电子信箱”：" in text and "更正“电子信箱”后重新核验" in text
    assert "contact.email" not in text
    assert not re.search(r"\b(received|parsed|checked|replied|recheck|status|verdict|pipeline)\b", text)
    assert not re.search(r"\b[a-z_]+\.[a-z_]+\b", re.sub(r"[\w.-]+@[\w.-]+", "", text))


def test_a_wrong_public_address_answers_a_chinese_page(desk: Desk) -> None:
    answer = desk.reviewer.get("/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "页面不存在" in answer.text and "Not Found" not in answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    api = desk.reviewer.get("/api/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    staff = desk.reviewer.get("/staff/no-such-page")
    assert staff.status_code == 404 and "审核" in staff.text


def _luminance(colour: str) -> float:
    red, green, blue = (int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5))

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_text_colours_of_the_staff_pages_reach_wcag_aa() -> None:
    """Every text colour of staff.css against its own background, or the background of the nearest rule for an
    ancestor of its selector (``.tabs a[aria-current] b`` sits on ``.tabs a[aria-current]``), else white."""
    css = (STATIC / "staff.css").read_text()
    variables = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    rules: list[tuple[str, dict[str, str]]] = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declared = {}
        for name, raw in re.findall(r"(?:^|;)\s*([\w-]+)\s*:\s*([^;]+)", body):
            raw = raw.strip()
            raw = variables.get(raw[4:-1], raw) if raw.startswith("var(") else raw
            if re.fullmatch(r"#[0-9a-fA-F]{6}", raw):
                declared[name] = raw
        for selector in selectors.split(","):
            rules.append((" ".join(re.sub(r"/\*.*?\*/", "", selector, flags=re.S).split()), declared))
    backgrounds = {
        selector: declared.get("background") or declared.get("background-color")
        for selector, declared in rules
        if declared.get("background") or declared.get("background-color")
    }

    def background_of(selector: str) -> str:
        while selector:
            if selector in backgrounds:
                return str(backgrounds[selector])
            selector = selector.rpartition(" ")[0].rstrip(" >")
        return "#ffffff"

    found = [
        (selector, declared["color"], background_of(selector), contrast(declared["color"], background_of(selector)))
        for selector, declared in rules
        if "color" in declared
    ]
    assert len(found) > 20
    muted = variables["--muted"]
    assert contrast(muted, "#ffffff") >= 4.5 and contrast(muted, variables["--soft"]) >= 4.5
    failing = [item for item in found if item[3] < 4.5]
    assert failing == [], failing
    assert "98a2b3" not in css.lower()


# --- in a browser --------------------------------------------------------------------------------------------


def test_the_case_page_by_keyboard_and_at_1366x768(desk: Desk) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.web.test_staff_browser import ARTIFACTS, CHROMIUM_ARGS, VIEWPORT, _chromium

    reference = desk.reference(TWIN_SENDER[1])
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            page.goto(f"{desk.web.base}/staff/login")
            page.fill("input[name=username]", REVIEWER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/staff/queue"))
            case_url = f"{desk.web.base}/staff/submissions/{reference}"
            page.goto(case_url)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "staff-case-page.png"))

            # 预览邮件 is on the first screen.
            button = page.locator("#decision button[type=submit]")
            box = button.bounding_box()
            assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], box
            expect(button).to_be_in_viewport()

            # Few tab stops (one a form for the corrections), counted by pressing Tab through the page.
            stops: list[str] = []
            for _ in range(400):
                page.keyboard.press("Tab")
                stop = page.evaluate(
                    """() => { const e = document.activeElement;
                        if (!e || e === document.body) { return ''; }
                        if (!e.dataset.stop) {
                            e.dataset.stop = String(document.querySelectorAll('[data-stop]').length);
                        }
                        return e.dataset.stop + (e.closest('#decision') ? ' decision' : ''); }"""
                )
                if stops and stop == stops[0]:
                    break  # round the page once
                if stop not in stops:  # the PDF viewer keeps the frame focused over its own controls
                    stops.append(stop)
            assert len(stops) < 60, len(stops)
            decision = next(number for number, stop in enumerate(stops, 1) if stop.endswith("decision"))
            assert decision <= 15, (decision, stops)
            page.goto(case_url)

            # The skip link is among the first tab stops and leads into the decision.
            for _ in range(12):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.classList.contains('skip-link')"):
                    break
            else:
                raise AssertionError("no skip link within the first 12 tab stops")
            page.keyboard.press("Enter")
            assert page.evaluate("!!document.activeElement.closest('#decision')")

            # r chooses 退回修改 and puts the cursor in the reason; typing there is not a key command.
            page.locator("h1").click()
            page.keyboard.press("r")
            expect(page.locator("input[name=action][value=return]")).to_be_checked()
            assert page.evaluate("document.activeElement.name") == "reason"
            page.keyboard.type("请补充 a 和 n")
            expect(page).to_have_url(re.compile(re.escape(reference)))

            # a chooses 通过 and shows the mail before anything is sent.
            page.goto(case_url)
            page.locator("h1").click()
            page.keyboard.press("a")
            expect(page.locator(".mail-preview")).to_be_visible()

            # n opens the next case of the queue.
            page.goto(case_url)
            following = page.locator("#next-case")
            if following.count():
                target = following.get_attribute("href")
                page.locator("h1").click()
                page.keyboard.press("n")
                assert target is not None
                expect(page).to_have_url(re.compile(re.escape(target.split("?")[0])))
                page.goto(case_url)

            # A click on a value opens its correction and turns the PDF pane to the field's page.
            phone = page.locator('tr.field[data-path="contact.phone"]')
            phone.locator(".v").click()
            expect(phone.locator("details.fix")).to_have_attribute("open", "")
            expect(phone.locator("textarea[name=value]")).to_be_focused()
            expect(phone.locator(".twin-diff")).to_contain_text("021-64689999")
            page.wait_for_timeout(500)  # the PDF viewer draws the field's page
            page.screenshot(path=str(ARTIFACTS / "staff-case-correction.png"))
            page_number = phone.get_attribute("data-page")
            assert page_number is not None and int(page_number) >= 1
            source = page.locator("iframe[name=preview]").get_attribute("src")
            assert source is not None and source.endswith(f"#page={page_number}")
            # A field further down the form is on a later page of the PDF.
            pages = page.evaluate(
                "() => Array.from(document.querySelectorAll('.form-view tr.field')).map(e => e.dataset.page || '')"
            )
            assert max(int(number) for number in pages if number) > 1
            assert sum(1 for number in pages if number) >= len(pages) // 2, pages
            # The arrow keys move between the form's 更正 controls.
            first = page.locator(".form-view details.fix > summary").first
            first.focus()
            page.keyboard.press("ArrowDown")
            assert page.evaluate("document.activeElement.getAttribute('tabindex')") == "0"
            assert page.evaluate(
                "document.activeElement !== document.querySelector('.form-view details.fix > summary')"
            )

            # The original-file pane grows with the window.
            page.set_viewport_size({"width": 1920, "height": 1080})
            width = page.locator("iframe[name=preview]").bounding_box()
            assert width is not None and width["width"] > 700, width
        finally:
            context.close()
            browser.close()
    assert problems == []
