"""Composing the reply to a checked submission: polite, official Chinese, in the notices' register.

The wording lives in Jinja2 templates (``templates/*.j2``) so that the clerks' office can change a sentence
without touching code; this module only decides what goes into them, and in what order:

- in the name of the center that owns the mailbox the mail was received at (its name, signature and contact
  line, from ``notices/data/centers.toml``), whatever form the mail brought: a Guangdong 建议书 mailed to the
  Shanghai mailbox is answered by the Shanghai center, which says where the form belongs;
- where the track's notice has the formal application made elsewhere (the 自助经办系统 of 76号 二、（四）3), that
  first, so that nobody takes the reply for a receipt of the application;
- the decisive reason first (received outside the window, sent to the wrong mailbox), before any other problem;
  early mail is told when the window opens, never that it is late (``notices/calendar.py: Timing``);
- one item per problem: the WORD and PDF copies of one form are one document, named together ("《新职业信息
  建议书》（Word版、PDF版）"), so that a problem found in both is told once, not once a file;
- items grouped by document, the submission's own findings (a missing form, a missing format, a 汇总表 row
  without its 建议书) in a group of their own;
- short when the mail came outside the window: nothing can be accepted now, so the other problems are only
  summed up, one line a document, for the next window;
- ``unlocated_field`` is zhengji's own blind spot, never the applicant's fault: it is never listed as a
  problem; the reply says instead that the document was received and a clerk will check it by hand.

Everything the sender controls (display name, subject, file and archive member names, and the values quoted in
findings) passes through :func:`zhengji.textsafe.clean_line`, so that no CR/LF or bidirectional control
reaches a header or starts a line of its own in the body.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import PurePosixPath

from jinja2 import Environment, PackageLoader, StrictUndefined

from zhengji.clock import SHANGHAI
from zhengji.notices.calendar import cn_date, cn_window, opening_text, standing_text
from zhengji.notices.registry import Center, FormId, TrackRule, load_registry
from zhengji.parsers.document import format_name
from zhengji.parsers.forms import form_title
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.submission import CheckedSubmission
from zhengji.parsers.twins import is_editable, pair_twins
from zhengji.textsafe import clean_line

DEFAULT_GREETING = "申报单位（个人）"
DECISIVE = ("outside_window", "wrong_mailbox")
"""Codes that decide the verdict on their own, in the order the reply gives them."""
UNLOCATED = "unlocated_field"
SUBMISSION_HEADING = "申报材料整体"

# How much of a sender's text a reply repeats (characters).
SUBJECT_LIMIT = 200
SENDER_LIMIT = 64
FILE_LIMIT = 120
NAME_LIMIT = 40
ITEM_LIMIT = 500

_ARCHIVE_SEPARATOR = " › "
_CN_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class ComposedReply:
    subject: str
    body: str

    def as_json(self) -> dict[str, str]:
        return {"subject": self.subject, "body": self.body}


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("zhengji.mailbox", "templates"),
        autoescape=False,  # plain-text mail
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["cn_number"] = cn_number
    return environment


def cn_number(value: int) -> str:
    """一 … 九十九, as the （一）（二） of an official text number its parts."""
    if not 0 < value < 100:
        return str(value)
    tens, units = divmod(value, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else f"{_CN_DIGITS[tens]}十")
    return head + (_CN_DIGITS[units] if units else "")


def _received(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{cn_date(local.date())}{local.hour}时{local.minute:02d}分"


# --- the sender's text, made safe ------------------------------------------------------------------------


class _Names:
    """The safe spelling of every file name of a submission, and messages rewritten to use it.

    A finding's message quotes the file's raw name ("“b\\r\\n【审核结果】….docx”不是本次征集通知所附的表格");
    replacing the raw name by its cleaned, capped spelling keeps the message readable and the name bounded.
    """

    def __init__(self, documents: Iterable[ParsedDocument]) -> None:
        files = {document.file for document in documents}
        self.safe = {name: clean_line(name, FILE_LIMIT) for name in files}
        self._raw = sorted((name for name in files if self.safe[name] != name), key=len, reverse=True)

    def file(self, name: str) -> str:
        return self.safe.get(name) or clean_line(name, FILE_LIMIT)

    def text(self, message: str) -> str:
        for raw in self._raw:
            if raw in message:
                message = message.replace(raw, self.safe[raw])
        return clean_line(message, ITEM_LIMIT)


# --- documents as the applicant knows them: one form, its copies -------------------------------------------


@dataclass(frozen=True)
class _Item:
    """One problem; ``copies`` names the copies it was found in when not in all of them ("PDF版")."""

    text: str
    copies: str = ""

    def __str__(self) -> str:
        return f"{self.copies}：{self.text}" if self.copies else self.text


@dataclass
class _Group:
    """One document of the submission (a form with its WORD and PDF copies, or one other file), or the
    submission itself (no copies)."""

    title: str  # 《新职业信息建议书》, 文件“附件.png”, or the submission's heading
    copies: list[ParsedDocument] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # each copy's "Word版", "PDF版"
    heading: str = ""
    file_name: str = ""  # the safe name of a file that is none of the forms
    errors: list[_Item] = field(default_factory=list)
    advice: list[_Item] = field(default_factory=list)
    unlocated: bool = False

    def label(self, copies: list[ParsedDocument]) -> str:
        wanted = {id(copy) for copy in copies}
        return "、".join(label for copy, label in zip(self.copies, self.labels, strict=True) if id(copy) in wanted)

    @property
    def is_form(self) -> bool:
        return bool(self.labels)

    def named(self, item: _Item) -> str:
        """The item on its own line, outside its heading: it names its document unless it already does."""
        if self.is_form:
            return f"{self.title}（{item.copies or self.label(self.copies)}）：{item.text}"
        if self.names_itself(item):
            return item.text
        return f"{self.title}：{item.text}"

    def names_itself(self, item: _Item) -> bool:
        return not self.copies or bool(self.file_name and self.file_name in item.text)


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _stem(name: str) -> str:
    return _fold(PurePosixPath(name.replace("\\", "/").split(_ARCHIVE_SEPARATOR)[-1]).stem)


def _own_name(document: ParsedDocument) -> str:
    """What tells two filled copies of one form apart: the occupation or project it proposes, if any."""
    for key in ("name", "project", "applicant"):
        value = document.fields.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _same_document(first: ParsedDocument, other: ParsedDocument) -> bool:
    """Two copies of one filled form: the same occupation named, or, when one names none, the same file stem."""
    mine, theirs = _fold(_own_name(first)), _fold(_own_name(other))
    if mine and theirs:
        return mine == theirs
    return _stem(first.file) == _stem(other.file)


def _copies_of_forms(documents: list[ParsedDocument]) -> list[list[ParsedDocument]]:
    """The submission's forms, each a list of its copies: one proposal's WORD and PDF belong together.

    The WORD/PDF twins are the checker's own pairs (:func:`zhengji.parsers.twins.pair_twins`), so the reply names
    together exactly the copies that were judged as one form. Copies left over (two Word files of one proposal,
    say) still go together when they name the same occupation (or project), or, naming none, share a file stem.
    """
    twin_of = {id(twin.pdf): twin.record for twin in pair_twins(documents)}
    by_form: dict[str, list[list[ParsedDocument]]] = {}
    for document in documents:
        if document.form == FormId.unknown and id(document) not in twin_of:
            continue
        record = twin_of.get(id(document))
        sets = by_form.setdefault(record.form if record is not None else document.form, [])
        for copies in sets:
            if record is not None and any(copy is record for copy in copies):
                copies.append(document)
                break
            if record is None and id(copies[0]) not in twin_of and _same_document(copies[0], document):
                copies.append(document)
                break
        else:
            sets.append([document])
    return [copies for sets in by_form.values() for copies in sets]


def _document_groups(documents: list[ParsedDocument], names: _Names) -> list[_Group]:
    """One group a document, in the order the mail brought them; a form's copies WORD first, then PDF."""
    forms = _copies_of_forms(documents)
    first_of = {id(copies[0]): copies for copies in forms}
    groups = []
    for document in documents:
        if document.form == FormId.unknown:
            name = names.file(document.file)
            groups.append(_Group(f"文件“{name}”", [document], heading=f"文件“{name}”", file_name=name))
        elif id(document) in first_of:
            copies = sorted(first_of[id(document)], key=lambda copy: copy.format == "pdf")
            labels = [f"{format_name(copy.format)}版" for copy in copies]
            if len(set(labels)) < len(labels):
                labels = [f"{label}（{names.file(copy.file)}）" for label, copy in zip(labels, copies, strict=True)]
            title = f"《{form_title(document.form, document.fields.get('province'))}》"
            groups.append(_Group(title, copies, labels))
    forms_only = [group for group in groups if group.is_form]
    titles = [group.title for group in forms_only]
    for group in forms_only:
        if titles.count(group.title) > 1:  # two proposals in one mail: the occupation tells them apart
            own = clean_line(_own_name(group.copies[0]), NAME_LIMIT)
            group.title += f"“{own}”" if own else ""
        group.heading = f"{group.title}（{group.label(group.copies)}）"
    headings = [group.heading for group in forms_only]
    for group in forms_only:
        if headings.count(group.heading) > 1:  # unnamed copies of one form: only their files tell them apart
            group.heading = f"{group.title}（{'、'.join(names.file(copy.file) for copy in group.copies)}）"
    return groups


_Key = tuple[str, str, str | None, int | None, str]


def _fill(group: _Group, names: _Names) -> None:
    """The group's problems, each once: a finding in every copy is told plainly, one in some copies names them.

    Two findings are one problem when code, field, row and message agree; only the file differs.
    """
    seen: dict[_Key, list[ParsedDocument]] = {}
    for copy in group.copies:
        for finding in copy.findings:
            if finding.code == UNLOCATED:
                group.unlocated = True
                continue
            key = (finding.severity, finding.code, finding.field, finding.row, names.text(finding.message))
            found_in = seen.setdefault(key, [])
            if not any(other is copy for other in found_in):
                found_in.append(copy)
    # A PDF beside its editable twin was not judged on its own (one reading per form), nor was a scan that took
    # its WORD twin's form: neither has nor lacks a problem of its own.
    has_record = any(is_editable(copy) for copy in group.copies)
    checked = [copy for copy in group.copies if copy.text_layer and not (has_record and copy.format == "pdf")]
    for (severity, *_, message), copies in seen.items():
        partial = group.is_form and len(copies) < len(checked)
        item = _Item(message, group.label(copies) if partial else "")
        (group.errors if severity == "error" else group.advice).append(item)


def _submission_group(findings: list[Finding], names: _Names) -> _Group:
    group = _Group(SUBMISSION_HEADING, heading=SUBMISSION_HEADING)
    seen: set[_Key] = set()
    for finding in findings:
        if finding.code in DECISIVE or finding.code == UNLOCATED:
            continue  # the decisive reasons come first, on their own; unlocated_field is never the applicant's
        key = (finding.severity, finding.code, finding.field, finding.row, names.text(finding.message))
        if key not in seen:
            seen.add(key)
            (group.errors if finding.severity == "error" else group.advice).append(_Item(key[-1]))
    return group


@dataclass
class _Problems:
    """What the reply tells about findings, in the order it tells it."""

    decisive: list[str]
    groups: list[_Group]

    @property
    def with_errors(self) -> list[_Group]:
        return [group for group in self.groups if group.errors]

    @property
    def error_count(self) -> int:
        return sum(len(group.errors) for group in self.groups)

    @property
    def unlocated(self) -> list[str]:
        return [group.heading for group in self.groups if group.unlocated]

    def condensed(self) -> list[str]:
        """One line a document, its problems run on; the submission's own problems one line each."""
        lines: list[str] = []
        for group in self.with_errors:
            if not group.copies:
                lines.extend(item.text for item in group.errors)
                continue
            run_on = "".join(_sentence(str(item)) for item in group.errors)
            named = not group.is_form and all(group.names_itself(item) for item in group.errors)
            lines.append(run_on if named else f"{group.heading}：{run_on}")
        return lines

    def advice(self) -> list[str]:
        """The warnings as one list, each naming its document."""
        return [group.named(item) for group in self.groups for item in group.advice]


def _sentence(text: str) -> str:
    return text if text.endswith(("。", "！", "？", "；")) else f"{text}。"


def _problems(checked: CheckedSubmission, names: _Names) -> _Problems:
    decisive = [
        names.text(finding.message)
        for code in DECISIVE
        for finding in checked.findings
        if finding.code == code and finding.severity == "error"
    ]
    groups = _document_groups(checked.documents, names)
    for group in groups:
        _fill(group, names)
    submission = _submission_group(checked.findings, names)
    return _Problems(decisive, [submission, *groups])


# --- the reply ---------------------------------------------------------------------------------------------


def _describe(document: ParsedDocument, names: _Names) -> str:
    name = names.file(document.file)
    if document.form != FormId.unknown:
        title = form_title(document.form, document.fields.get("province"))
        return f"{name}：《{title}》（{format_name(document.format)}版）"
    if any(finding.code == "unreadable" for finding in document.findings):
        return f"{name}：无法读取（原因详见下文）"
    return f"{name}：附加材料"


def _window_text(checked: CheckedSubmission) -> str:
    pos = checked.position
    if pos is None:
        return "各征集事项的受理时间以相应通知为准，可在回复中询问。"
    if pos.window:
        left = pos.days_left()
        tail = "，今天截止" if left == 0 else f"，截至收件时尚余 {left} 天"
        head = f"本期受理时间为{cn_window(pos.window)}{tail}。"
        if pos.next_window:
            return f"{head}下一期受理时间为{cn_window(pos.next_window)}。"
        return f"{head}该事项暂无后续受理安排，以后续通知为准。"
    # Outside every window and still answered in full: a reviewer's late exception covers the mail.
    name = checked.rule.name if checked.rule else "该事项"
    return f"收件时{standing_text(pos, name)}{opening_text(pos)}"


def voice(checked: CheckedSubmission) -> Center:
    """The center that answers: the owner of the receiving mailbox; without one (loose files checked without
    ``--to``), the center of the submission's track (:meth:`zhengji.notices.registry.Registry.voice`)."""
    track = checked.track if checked.track != "unknown" else None
    return load_registry().voice(checked.mail.to, track)


def channel_text(rule: TrackRule | None, number: str | None) -> str:
    """For a track whose notice has the application made through another channel (76号 二、（四）3), the sentence
    that says so: the mail was received and checked, and it does not replace the application there."""
    if rule is None or rule.channel is None or rule.mailbox_role != "consult":
        return ""
    cited = f"按照{number}{rule.channel_clause}，" if number else ""
    return (
        f"请注意：{cited}{rule.name}须通过{rule.channel}申报（具体申报要求另行通知），{rule.mailbox} 为咨询邮箱。"
        f"本邮件所附材料已收到并经系统初步核验，核验结果仅供参考；以邮件发送材料不能代替在{rule.channel}中的正式申报。"
    )


def _subject_text(subject: str | None) -> str:
    return clean_line(subject, SUBJECT_LIMIT)


def _greeting(sender_name: str | None) -> str:
    return clean_line(sender_name, SENDER_LIMIT) or DEFAULT_GREETING


def reply_subject(original: str | None, reference: str | None) -> str:
    subject = _subject_text(original)
    while subject[:3].lower() in {"re:", "re："} or subject.startswith("回复："):
        subject = subject.split(":", 1)[-1].split("：", 1)[-1].strip()
    subject = subject or "申报材料"
    tag = f"【{reference}】" if reference and reference not in subject else ""
    return f"Re: {tag}{subject}"


def compose_reply(
    checked: CheckedSubmission,
    reference: str | None,
    today: date,
    changes: list[str] | None = None,
    *,
    reissued: bool = False,
    decided: str | None = None,
) -> ComposedReply:
    """The reply for a checked submission; ``reference`` is None when nothing was stored (``zhengji check``).

    ``changes`` says what a new version of a case changed (files received anew, problems corrected);
    ``reissued`` marks a corrected answer to a mail already answered, after a clerk re-checked it; ``decided``
    (``accepted``, ``declined``) is the reviewer's decision that stands on the case the mail was filed to: the
    reply says the mail was filed for the reviewer and the decision is unchanged, never that the case is back in
    review.
    """
    center = voice(checked)
    names = _Names(checked.documents)
    problems = _problems(checked, names)
    name = checked.rule.name if checked.rule else None
    subject_line = f"{name}材料" if name else "邮件"
    subject = _subject_text(checked.mail.subject)
    if subject:
        subject_line += f"（邮件主题：{subject}）"
    outside = any(finding.code == "outside_window" for finding in checked.findings)
    early = outside and checked.position is not None and checked.position.early
    body = (
        _environment()
        .get_template("reply.txt.j2")
        .render(
            greeting=_greeting(checked.mail.sender_name),
            office=center.name,
            contact=center.contact,
            channel=channel_text(checked.rule, checked.notice.number if checked.notice else None),
            received=_received(checked.received),
            subject_line=subject_line,
            reference=reference,
            documents=[_describe(document, names) for document in checked.documents],
            status=checked.status,
            decisive=problems.decisive,
            late=outside,
            early=early,
            groups=[(group.heading, [str(item) for item in group.errors]) for group in problems.with_errors],
            headed=len(problems.with_errors) > 1 or any(group.copies for group in problems.with_errors),
            error_count=problems.error_count,
            condensed=problems.condensed(),
            advice=problems.advice(),
            unlocated=problems.unlocated,
            window_text=_window_text(checked),
            changes=[names.text(change) for change in changes or []],
            reissued=reissued,
            decided=decided,
            today=cn_date(today),
        )
    )
    return ComposedReply(reply_subject(checked.mail.subject, reference), body)


def compose_handed_to_staff(
    *, sender_name: str | None, subject: str | None, to: list[str], received: datetime, today: date
) -> ComposedReply:
    """The notice for a mail the pipeline gave up on: received, and taken over by staff (no verdict, no reference).

    Without it an applicant whose mail trips a fault would hear nothing and send it again and again.
    """
    shown = _subject_text(subject)
    subject_line = f"邮件（邮件主题：{shown}）" if shown else "邮件"
    center = load_registry().voice(to)
    body = (
        _environment()
        .get_template("handed_to_staff.txt.j2")
        .render(
            greeting=_greeting(sender_name),
            office=center.name,
            contact=center.contact,
            received=_received(received),
            subject_line=subject_line,
            today=cn_date(today),
        )
    )
    return ComposedReply(reply_subject(subject, None), body)
