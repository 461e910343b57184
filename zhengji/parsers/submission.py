"""Checking a whole submission: the track, the window, the mailbox, the documents and their agreement.

A submission is what one mail brings. Its documents were parsed and checked one by one
(:mod:`zhengji.parsers.document`); here they are judged together against the track's notice: which track
the mail is for, whether it came in a window and to the right mailbox, whether every required form is there in
every required format, whether a 汇总表 and its 建议书 agree, and whether a seal on the PDF copy signs the WORD
file. The result is the contract's "A checked submission".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from zhengji.notices.calendar import Position, outside_window_text, position
from zhengji.notices.registry import DocumentRule, FormId, Notice, Registry, Track, TrackRule, load_registry
from zhengji.parsers.document import SHEET_FORMATS, WORD_FORMATS
from zhengji.parsers.forms import form_title
from zhengji.parsers.forms.text import fold
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.tracks import governing_notice, track_of_form
from zhengji.parsers.twins import TABLE_FORMS, disagreements, one_reading, pair_twins, text_of_record
from zhengji.parsers.twins import stem as file_stem

# Words in a subject that name a track when no attached form does (a mail with only a cover letter).
_SUBJECT_HINTS: list[tuple[str, Track]] = [
    ("考核机构申报", Track.special_ability_institution),
    ("专项职业能力", Track.special_ability_project),
    ("评价组织", Track.evaluator_org),
    ("评价机构", Track.evaluator_org),
    ("等级认定", Track.skill_level_occupation),
    ("新职业", Track.new_occupation),
]


@dataclass(frozen=True)
class LateAllowance:
    """A reviewer let this mail's sender submit to ``track`` after its window, until ``until`` (Shanghai date)."""

    track: str
    until: date
    reason: str


@dataclass
class Mail:
    """What the checker needs of one received mail."""

    attachments: list[tuple[str, bytes]]
    received: datetime
    to: list[str] = field(default_factory=list)
    sender: str | None = None
    sender_name: str | None = None
    subject: str | None = None
    message_id: str | None = None
    # Late exceptions granted to the sender by a reviewer (zhengji.review.late): honoured by the window check.
    late_allowances: list[LateAllowance] = field(default_factory=list)
    # The track a clerk set for a mail the checks could not place (zhengji.review.triage): judged under it.
    track: str | None = None


@dataclass
class CheckedSubmission:
    """The contract's "A checked submission", plus what the reply needs."""

    track: str
    notice: Notice | None
    received: datetime
    position: Position | None
    documents: list[ParsedDocument]
    findings: list[Finding]
    status: str
    mail: Mail
    rule: TrackRule | None = None

    def as_json(self) -> dict[str, Any]:
        pos = self.position
        return {
            "track": self.track,
            "notice": self.notice.number if self.notice else None,
            "received": self.received.isoformat(),
            "in_window": pos.in_window if pos else None,
            "window": pos.window.as_json() if pos and pos.window else None,
            "next_window": pos.next_window.as_json() if pos and pos.next_window else None,
            "documents": [document.as_json() for document in self.documents],
            "findings": [finding.as_json() for finding in self.findings],
            "status": self.status,
        }

    def all_findings(self) -> list[Finding]:
        return [finding for document in self.documents for finding in document.findings] + self.findings

    def has_errors(self) -> bool:
        return any(finding.severity == "error" for finding in self.all_findings())


def judge(mail: Mail, documents: list[ParsedDocument], registry: Registry | None = None) -> CheckedSubmission:
    """Judge the parsed documents of one mail as one submission."""
    registry = registry or load_registry()
    documents = _adopt_scans(documents)
    # Read before the PDFs' field findings go: the agreement skips what either copy's reading did not locate.
    twin_findings = _twin_agreement(documents)
    documents = one_reading(documents)
    track = decide_track(documents, mail, registry)
    if track is None:
        asked = _forms_wanted(documents, mail, registry)
        return CheckedSubmission("unknown", None, mail.received, None, documents, asked, "unknown", mail)
    notice = governing_notice(track, mail.received, registry)
    rule = next(rule for rule in notice.tracks if rule.id == track)
    pos = position(track, mail.received, registry)
    findings: list[Finding] = []
    findings += _other_track_documents(documents, track)
    findings += [] if _allowed_late(mail, track, pos) else _window(pos, rule)
    findings += _mailbox(mail, rule)
    _apply_seals(documents)
    findings += _required_documents(documents, rule)
    findings += _required_formats(documents, rule)
    findings += _materials(documents, rule)
    findings += _summary_agreement(documents, track)
    findings += twin_findings
    rejected = any(finding.code in {"outside_window", "wrong_mailbox"} for finding in findings)
    checked = CheckedSubmission(track.value, notice, mail.received, pos, documents, findings, "", mail, rule)
    checked.status = "rejected" if rejected else ("incomplete" if checked.has_errors() else "complete")
    return checked


def decide_track(documents: list[ParsedDocument], mail: Mail, registry: Registry) -> Track | None:
    """The track most of the forms belong to; else the subject's words; else unknown (None).

    A mail with no file at all is a question, not a submission to any track, whatever its subject names
    ("请问新职业申报需要哪些材料"): judging it against a track would demand that track's forms of someone who
    only asked. The subject decides only for a mail that brought files but no form (a cover letter alone).
    A clerk's track (``mail.track``) comes before all of these: a person read the mail.
    """
    if mail.track in Track.__members__:
        return Track(str(mail.track))
    if not documents:
        return None
    votes: Counter[Track] = Counter()
    for document in documents:
        if document.form != FormId.unknown:
            province = document.fields.get("province") or _province_of_address(mail.to, registry)
            track = track_of_form(document.form, province)
            if track:
                votes[track] += 1
    if votes:
        return votes.most_common(1)[0][0]
    subject = fold(mail.subject)
    for words, track in _SUBJECT_HINTS:
        if words in subject:
            if track is Track.new_occupation and _province_of_address(mail.to, registry) == "guangdong":
                return Track.gd_new_occupation
            return track
    return None


def _province_of_address(addresses: list[str], registry: Registry) -> str | None:
    wanted = {address.lower() for address in addresses}
    for notice in registry.notices:
        for rule in notice.tracks:
            if rule.mailbox.lower() in wanted:
                return notice.province
    return None


def _stem(name: str) -> str:
    return file_stem(name)


def _adopt_scans(documents: list[ParsedDocument]) -> list[ParsedDocument]:
    """A scanned PDF takes the form of its WORD twin (same stem, or the only candidate) and loses `scanned`."""
    adopted = {id(twin.pdf): twin.record for twin in pair_twins(documents) if not twin.pdf.text_layer}
    return [
        document.model_copy(update={"form": twin.form, "fields": twin.fields, "findings": []})
        if (twin := adopted.get(id(document))) is not None
        else document
        for document in documents
    ]


def _other_track_documents(documents: list[ParsedDocument], track: Track) -> list[Finding]:
    findings = []
    for document in documents:
        if document.form == FormId.unknown:
            continue
        own = track_of_form(document.form, document.fields.get("province"))
        if own is not None and own != track and not ({own, track} <= {Track.new_occupation, Track.gd_new_occupation}):
            findings.append(
                Finding(
                    code="unknown_form",
                    severity="warning",
                    message=f"“{document.file}”属于另一征集事项，请按对应通知另行发送。",
                    file=document.file,
                )
            )
    return findings


def _window(pos: Position, rule: TrackRule) -> list[Finding]:
    """Mail outside every window: early (尚未开始受理, with the opening date) or late (逾期, 已截止), never confused;
    the wording is the calendar's (:func:`zhengji.notices.calendar.outside_window_text`)."""
    if pos.in_window:
        return []
    return [Finding(code="outside_window", severity="error", message=outside_window_text(pos, rule.name))]


def _allowed_late(mail: Mail, track: Track, pos: Position) -> bool:
    """A mail outside the window that a reviewer's late exception for its sender and track still covers."""
    return not pos.in_window and any(
        allowance.track == track.value and pos.day <= allowance.until for allowance in mail.late_allowances
    )


def _mailbox(mail: Mail, rule: TrackRule) -> list[Finding]:
    """Mail for a track whose notice names another mailbox, told in the voice of the center that received it: whose
    mailbox this is, and where the track's notice has the materials go (its route, its channel, its mailbox).

    Loose files checked without a recipient are not judged here (the contract).
    """
    if not mail.to:
        return []
    if rule.mailbox.lower() in {address.lower() for address in mail.to}:
        return []
    registry = load_registry()
    notice = next(notice for notice in registry.notices if rule in notice.tracks)
    owner = registry.center_of_mailbox(rule.mailbox)
    mailbox = f"{rule.mailbox}（{owner.name}）" if owner else rule.mailbox
    here = f"本邮箱不受理{rule.name}的材料。"
    for address in mail.to:
        receiver = registry.center_of_mailbox(address)
        if receiver is not None:
            here = f"本邮箱（{address.strip().lower()}）为{receiver.name}的受理邮箱，不受理{rule.name}的材料。"
            break
    if rule.route:
        there = f"按照{notice.number}{rule.route_clause}，{rule.route}；该通知所列电子邮箱为 {mailbox}。"
    elif rule.channel:
        there = (
            f"按照{notice.number}{rule.channel_clause}，{rule.name}须通过{rule.channel}申报；"
            f"该通知所列咨询邮箱为 {mailbox}。"
        )
    else:
        there = f"按照{notice.number}，{rule.name}的材料应发送至 {mailbox}，请改发至该邮箱。"
    return [Finding(code="wrong_mailbox", severity="error", message=here + there)]


def _apply_seals(documents: list[ParsedDocument]) -> None:
    """A red round seal on a form's PDF copy signs its WORD twin too (the contract): the PDF is where seals show."""
    for twin in pair_twins(documents):
        if twin.pdf.red_seals > 0:
            twin.record.findings = [finding for finding in twin.record.findings if finding.code != "unsigned"]


def _required_documents(documents: list[ParsedDocument], rule: TrackRule) -> list[Finding]:
    """A required form that is not in the submission; never claimed of a form that may be in a file that
    could not be opened.

    A damaged "建议书.docx" is most likely the 建议书 itself: telling its sender both that the file does not open
    and that the 建议书 was not received is one problem told twice, the second time untruly. So a missing form
    is first matched to an unopened file whose name names it (and then left to that file's own finding);
    when the unopened files left are at least as many as the forms still missing, any of them may be those
    forms and nothing more is said; only when there are fewer is the sender asked for the forms, in one item
    that says why zhengji cannot tell which are missing.
    """
    present = {doc.form for doc in documents}
    missing = [wanted for wanted in rule.documents if wanted.required and wanted.form not in present]
    unopened = [doc for doc in documents if _unopened_document(doc)]
    for document in list(unopened):
        named = [wanted for wanted in missing if _names_form(document.file, wanted)]
        if len(named) == 1:
            missing.remove(named[0])
            unopened.remove(document)
    if not unopened:
        return [_missing(wanted) for wanted in missing]
    if len(unopened) >= len(missing):
        return []
    forms = "、".join(f"《{wanted.name}》（{wanted.attachment}）" for wanted in missing)
    files = "、".join(f"“{doc.file}”" for doc in unopened)
    return [
        Finding(
            code="missing_document",
            severity="error",
            message=f"{forms}：系统无法确认{files}是否即为其中的表格，请将上述表格重新保存后一并发送。",
            field=missing[0].form.value,
        )
    ]


def _missing(wanted: DocumentRule) -> Finding:
    return Finding(
        code="missing_document",
        severity="error",
        message=f"未收到《{wanted.name}》（{wanted.attachment}），请补充发送。",
        field=wanted.form.value,
    )


# Files that may hold a form: documents and spreadsheets, as detected or as the damaged file's name says.
_FORM_FORMATS = WORD_FORMATS | SHEET_FORMATS | {"pdf"}
_FORM_SUFFIXES = frozenset({"docx", "docm", "doc", "wps", "rtf", "pdf", "xlsx", "xlsm", "xls", "et"})


def _unopened_document(document: ParsedDocument) -> bool:
    """A file that could not be opened and may be one of the forms (a damaged Word, PDF or Excel file)."""
    if document.form != FormId.unknown or not any(finding.code == "unreadable" for finding in document.findings):
        return False
    suffix = PurePosixPath(document.file.split(" › ")[-1]).suffix.lower().lstrip(".")
    return document.format in _FORM_FORMATS or suffix in _FORM_SUFFIXES


def _names_form(file: str, wanted: DocumentRule) -> bool:
    """A file name that names the form: its full name, its 附件 number, or its last words ("建议书")."""
    stem = _stem(file)
    name = fold(wanted.name).lower()
    attachment = fold(wanted.attachment).lower()
    return name in stem or (attachment != "附件" and attachment in stem) or name[-3:] in stem


def _forms_wanted(documents: list[ParsedDocument], mail: Mail, registry: Registry) -> list[Finding]:
    """Files but no form, and no track named: ask for the forms of every track the receiving mailbox takes.

    Nothing tells which collection the sender means, so the reply lists each one's forms from the notice that
    governs it on the day received, and the clerk sees plainly what the mail lacks. A mail with no file is a
    question and is asked for nothing; a file that could not be opened, or a scan that could not be read, may be
    the form, and its own finding asks for it again.
    """
    if not documents or any(_unopened_document(doc) or not doc.text_layer for doc in documents):
        return []
    wanted = {address.lower() for address in mail.to}
    lines = []
    for track in registry.tracks():
        notice = governing_notice(track, mail.received, registry)
        rule = next(rule for rule in notice.tracks if rule.id == track)
        if wanted and rule.mailbox.lower() not in wanted:
            continue
        forms = "、".join(f"《{doc.name}》（{doc.attachment}）" for doc in rule.documents if doc.required)
        if forms:
            lines.append(f"{rule.name}（{notice.number}）：{forms}")
    if not lines:
        return []
    return [
        Finding(
            code="missing_document",
            severity="error",
            message=(
                "本邮件的附件中未发现征集通知所附的表格。请按所申报事项的通知，将填写完整的表格作为附件发送："
                + "；".join(lines)
                + "。"
            ),
        )
    ]


def _kinds(documents: list[ParsedDocument], form: str) -> set[str]:
    kinds = set()
    for document in documents:
        if document.form != form:
            continue
        if document.format == "pdf":
            kinds.add("pdf")
        elif document.format in WORD_FORMATS:
            kinds.add("word")
        elif document.format in SHEET_FORMATS and form in TABLE_FORMS:
            kinds.add("word")  # the contract: an xlsx of a table form counts as its editable version
    return kinds


def _required_formats(documents: list[ParsedDocument], rule: TrackRule) -> list[Finding]:
    findings = []
    for wanted in rule.documents:
        if not wanted.formats or not any(doc.form == wanted.form for doc in documents):
            continue
        missing = [kind for kind in wanted.formats if kind not in _kinds(documents, wanted.form)]
        for kind in missing:
            editable = "WORD电子版（或Excel电子版）" if wanted.form in TABLE_FORMS else "WORD电子版"
            label = "PDF电子版" if kind == "pdf" else editable
            formats = "和".join("PDF电子版" if k == "pdf" else "WORD电子版" for k in wanted.formats)
            required = f"须同时提交{formats}" if len(wanted.formats) > 1 else f"须提交{formats}"
            findings.append(
                Finding(
                    code="missing_format",
                    severity="error",
                    message=f"《{wanted.name}》{required}，本次缺少{label}，请补充发送。",
                    field=wanted.form.value,
                )
            )
    return findings


def _materials(documents: list[ParsedDocument], rule: TrackRule) -> list[Finding]:
    names = [fold(doc.file) for doc in documents]
    findings = []
    for material in rule.materials:
        if not any(fold(keyword) in name for keyword in material.keywords for name in names):
            findings.append(
                Finding(
                    code="missing_document",
                    severity="error",
                    message=f"未收到“{material.name}”，请补充发送（文件名中请注明材料名称）。",
                )
            )
    return findings


def _name_key(value: Any) -> str:
    return fold(str(value or "")).strip("《》“”\"'")


def _summary_agreement(documents: list[ParsedDocument], track: Track) -> list[Finding]:
    """Every 汇总表 row has its 建议书 and every 建议书 its row (one copy of each form is enough)."""
    pairs = {
        Track.new_occupation: (FormId.new_occupation_summary, FormId.new_occupation_proposal, "name"),
        Track.gd_new_occupation: (FormId.new_occupation_summary, FormId.new_occupation_proposal, "name"),
        Track.special_ability_project: (FormId.special_ability_summary, FormId.special_ability_content, "project"),
    }
    if track not in pairs:
        return []
    summary_form, detail_form, key = pairs[track]
    summaries = [doc for doc in documents if doc.form == summary_form]
    # A detail form's PDF beside its Word copy is not a reading of its own: the Word copy names the occupation.
    paired = {id(twin.pdf) for twin in pair_twins(documents)}
    details = [doc for doc in documents if doc.form == detail_form and id(doc) not in paired]
    if not summaries:
        return []
    summary = _preferred(summaries)
    rows = [row for row in summary.fields.get("rows") or [] if _name_key(row.get("name") or row.get(key))]
    row_names = {_name_key(row.get(key) or row.get("name")): index for index, row in enumerate(rows, 1)}
    detail_names = {_name_key(doc.fields.get(key)): doc for doc in details if _name_key(doc.fields.get(key))}
    province = summary.fields.get("province")
    detail_title = form_title(detail_form, province)
    summary_title = form_title(summary_form, province)
    findings = []
    for name, row in row_names.items():
        if name not in detail_names:
            findings.append(
                Finding(
                    code="mismatch",
                    severity="error",
                    message=f"《{summary_title}》第 {row} 行的“{name}”未附对应的《{detail_title}》，请补充发送。",
                    file=summary.file,
                    row=row,
                    field=key,
                )
            )
    for name, detail in detail_names.items():
        if name not in row_names:
            findings.append(
                Finding(
                    code="mismatch",
                    severity="error",
                    message=f"《{detail_title}》“{name}”未列入《{summary_title}》，请在汇总表中补列或核对名称。",
                    file=detail.file,
                    field=key,
                )
            )
    return findings


def _preferred(documents: list[ParsedDocument]) -> ParsedDocument:
    """The editable copy when there is one: it is what the clerk copies from (the text of record)."""
    return text_of_record(documents)


def _twin_agreement(documents: list[ParsedDocument]) -> list[Finding]:
    """A PDF and a WORD of one form should say the same; each field they really differ in is a warning for staff."""
    return [finding for twin in pair_twins(documents) for finding in disagreements(twin)]
