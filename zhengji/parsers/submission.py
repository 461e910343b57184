"""Checking a whole submission: the track, the window, the mailbox, the documents and their agreement.

A submission is what one mail brings. Its documents were parsed and checked one by one
(:mod:`zhengji.parsers.document`); here they are judged together against the track's notice: which track
the mail is for, whether it came in a window and to the right mailbox, whether every required form is there in
every required format, whether a 汇总表 and its 建议书 agree, and whether a seal on the PDF copy signs the WORD
file. The result is the contract's "A checked submission".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from zhengji.notices.calendar import Position, cn_date, position
from zhengji.notices.registry import FormId, Notice, Registry, Track, TrackRule, load_registry
from zhengji.parsers.document import SHEET_FORMATS, WORD_FORMATS, format_name
from zhengji.parsers.forms import form_title
from zhengji.parsers.forms.text import fold
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.tracks import governing_notice, track_of_form

TABLE_FORMS = frozenset(
    {FormId.new_occupation_summary, FormId.skill_level_recommendation, FormId.special_ability_summary}
)

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
    track = decide_track(documents, mail, registry)
    if track is None:
        return CheckedSubmission("unknown", None, mail.received, None, documents, [], "unknown", mail)
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
    findings += _twin_agreement(documents)
    rejected = any(finding.code in {"outside_window", "wrong_mailbox"} for finding in findings)
    checked = CheckedSubmission(track.value, notice, mail.received, pos, documents, findings, "", mail, rule)
    checked.status = "rejected" if rejected else ("incomplete" if checked.has_errors() else "complete")
    return checked


def decide_track(documents: list[ParsedDocument], mail: Mail, registry: Registry) -> Track | None:
    """The track most of the forms belong to; else the subject's words; else unknown (None)."""
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
    return fold(PurePosixPath(name.replace("\\", "/").split(" › ")[-1]).stem).lower()


def _adopt_scans(documents: list[ParsedDocument]) -> list[ParsedDocument]:
    """A scanned PDF takes the form of its WORD twin (same stem, or the only candidate) and loses `scanned`."""
    result = []
    editable = [doc for doc in documents if doc.format in WORD_FORMATS | SHEET_FORMATS and doc.form != FormId.unknown]
    for document in documents:
        if document.format == "pdf" and not document.text_layer:
            twins = [doc for doc in editable if _stem(doc.file) == _stem(document.file)]
            if not twins:
                claimed = {doc.form for doc in documents if doc.format == "pdf" and doc.text_layer}
                candidates = [doc for doc in editable if doc.form not in claimed]
                twins = candidates if len(candidates) == 1 else []
            if len(twins) == 1:
                twin = twins[0]
                document = document.model_copy(update={"form": twin.form, "fields": twin.fields, "findings": []})
        result.append(document)
    return result


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
    if pos.in_window:
        return []
    received = f"本邮件于{cn_date(pos.day)}收到，不在{rule.name}的受理时间内，逾期不予受理。"
    if pos.next_window:
        nxt = pos.next_window
        message = f"{received}下一次受理时间为{cn_date(nxt.start)}至{cn_date(nxt.end)}，请届时发送。"
    else:
        message = f"{received}该事项暂无后续受理安排，请关注后续通知。"
    return [Finding(code="outside_window", severity="error", message=message)]


def _allowed_late(mail: Mail, track: Track, pos: Position) -> bool:
    """A mail outside the window that a reviewer's late exception for its sender and track still covers."""
    return not pos.in_window and any(
        allowance.track == track.value and pos.day <= allowance.until for allowance in mail.late_allowances
    )


def _mailbox(mail: Mail, rule: TrackRule) -> list[Finding]:
    if not mail.to:
        return []
    if rule.mailbox.lower() in {address.lower() for address in mail.to}:
        return []
    return [
        Finding(
            code="wrong_mailbox",
            severity="error",
            message=f"{rule.name}的材料应发送至 {rule.mailbox}，本邮箱不受理该事项，请改发至该邮箱。",
        )
    ]


def _apply_seals(documents: list[ParsedDocument]) -> None:
    """A red round seal on a form's PDF copy signs that form's WORD file too (the contract)."""
    sealed = {doc.form for doc in documents if doc.format == "pdf" and doc.red_seals > 0}
    for document in documents:
        if document.form in sealed:
            document.findings = [finding for finding in document.findings if finding.code != "unsigned"]


def _required_documents(documents: list[ParsedDocument], rule: TrackRule) -> list[Finding]:
    present = {doc.form for doc in documents}
    findings = []
    for wanted in rule.documents:
        if wanted.required and wanted.form not in present:
            findings.append(
                Finding(
                    code="missing_document",
                    severity="error",
                    message=f"未收到《{wanted.name}》（{wanted.attachment}），请补充发送。",
                    field=wanted.form.value,
                )
            )
    return findings


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
    details = [doc for doc in documents if doc.form == detail_form]
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
    """The editable copy when there is one: it is what the clerk copies from."""
    for document in documents:
        if document.format != "pdf":
            return document
    return documents[0]


_COMPARED = re.compile(r"\s+")


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return _COMPARED.sub("", fold(value))
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items() if item not in (None, "", [], {})}
    return value


def _twin_agreement(documents: list[ParsedDocument]) -> list[Finding]:
    """A PDF and a WORD of one form should say the same; a difference is a warning for staff."""
    findings = []
    by_form: dict[str, list[ParsedDocument]] = {}
    for document in documents:
        if document.form != FormId.unknown and document.text_layer:
            by_form.setdefault(document.form, []).append(document)
    for form, copies in by_form.items():
        pdfs = [doc for doc in copies if doc.format == "pdf"]
        editables = [doc for doc in copies if doc.format != "pdf"]
        for pdf in pdfs:
            twin = next((doc for doc in editables if _stem(doc.file) == _stem(pdf.file)), None)
            if twin is None and len(editables) == 1 and len(pdfs) == 1:
                twin = editables[0]
            if twin is None:
                continue
            differing = [
                key
                for key in sorted(set(pdf.fields) | set(twin.fields))
                if key != "province" and _comparable(pdf.fields.get(key)) != _comparable(twin.fields.get(key))
            ]
            if differing:
                findings.append(
                    Finding(
                        code="mismatch",
                        severity="warning",
                        message=(
                            f"《{form_title(form, pdf.fields.get('province'))}》的PDF版（{pdf.file}）"
                            f"与{format_name(twin.format)}版"
                            f"（{twin.file}）内容不一致，请核对后以一致的版本重新发送。"
                        ),
                        file=pdf.file,
                        field=differing[0],
                    )
                )
    return findings
