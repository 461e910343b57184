"""The summary table of a window, in the notice's own layout, filled from the accepted submissions.

Each track that a notice gives a summary table (附件) has its layout here, taken from the notice's text: the
title, the lines above the table, its columns in order, the rows below it, and its 填表说明 or 备注. The same
layout is written as an Excel workbook (openpyxl) and as a Word document (python-docx); the accepted originals
go into a zip, one folder a reference.

What is exported is what a person accepted: the documents that were current when the decision ``accepted`` was
recorded (:func:`accepted_documents`), never a version the applicant mailed afterwards, which nobody reviewed.
A summary table is its 推荐单位's to stamp, so a window's accepted cases are split by recommender
(:func:`summary_tables`), one table each. A row whose occupation or project another case of the track also
proposes (:func:`zhengji.review.index.duplicates`), or that the checks found already in the catalog
(``already_listed``), is marked in a 备注 column after the notice's own columns, present only when a row is marked.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlmodel import Session, col, select

from zhengji.notices.calendar import windows
from zhengji.notices.registry import Notice, Track
from zhengji.parsers.checks.view import is_blank
from zhengji.review.fields import CATEGORY_LABELS, list_rows, show
from zhengji.review.index import duplicates, name_key, proposed_names
from zhengji.review.originals import OriginalMissing, document_bytes
from zhengji.review.recheck import Reviewed, corrected, corrections_of, current_rows, latest_message
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Document, Message, QueueEntry, Submission
from zhengji.storage.status import SubmissionStatus
from zhengji.textsafe import clean_line
from zhengji.xlsxsafe import put

SKILL_NOTES_2025 = [
    "1. 推荐的职业（工种）请按优先级顺序填写。",
    "2. 职业编码、职业名称、工种：请按《中华人民共和国职业分类大典》（2022年版）规范填写。"
    "国家职业标准中职业下分工种的，一般按职业进行申报，工种栏无需填写；特殊情况的，可申报到具体工种。",
    "3. 国家职业标准名称、版本号：请登录以下链接查询后规范填写：http://osta.mohrss.gov.cn/skillstandard。",
    "4. 是否已纳入急需紧缺职业目录：请根据《上海市人力资源和社会保障局关于发布上海市急需紧缺高技能人才职业（工种）目录"
    "（2024年）的通知》（沪人社职〔2024〕1号）填写。",
    "5. 产业类别：（1）请按以下产业标签选择填写：“3+6”产业：集成电路、生物医药、人工智能，电子信息、生命健康、汽车、"
    "高端装备、先进材料、时尚消费品；两大民生产业：养老护理、家政服务；其他产业：按实填写；（2）每个职业（工种）可按"
    "实际情况选填多个产业标签，用“、”隔开。",
    "6. 预计评价人次：请根据本行业或本区域实际需求，预估三年内评价计划。",
    "7. 推荐理由：请简述推荐理由，如：文件依据、行业规划、重要会议、调研摸底等。",
    "8. 已纳入社会培训评价组织征集遴选职业（工种）目录（见附件2）的无需重复推荐。",
]
SKILL_NOTES_2024 = [
    SKILL_NOTES_2025[0],
    "2. 职业编码、职业名称、工种：请按《中华人民共和国职业分类大典》（2022年版）规范填写。"
    "国家职业标准中职业下未分工种的，按职业进行申报；细分工种的，需申报到工种。",
    *SKILL_NOTES_2025[2:7],
]
SPECIAL_NOTES = [
    "1. 请按推荐的优先级顺序填写。",
    "2. 所属领域：请按《中华人民共和国职业分类大典》（2022年版）规范填写拟申报专项职业能力考核项目相关的所属领域名称，"
    "应填写到小类。可登录以下链接进行查询：http://www.osta.org.cn/career。",
    "3. 产业类别：（1）请按以下产业标签选择填写：“3+6”产业：集成电路、生物医药、人工智能、电子信息、生命健康、汽车、"
    "高端装备、先进材料、时尚消费品；两大民生产业：养老护理、家政服务；其他产业：按实填写；（2）每个职业（工种）可按"
    "实际情况选填多个产业标签，用“、”隔开。",
    "4. 拟承担评价任务的考核机构：请填写建议承担该专项职业能力考核的单位规范全称，并提供正确的统一社会信用代码。",
    "5. 预计考核人次：请根据本行业或申报单位实际需求，预计三年内考核计划。",
    "6. 推荐理由：请简述推荐理由，如文件依据、行业规划、重要会议、调研摸底等。",
]
GD_NOTES = [
    "备注：汇总表各项内容应该与新职业申报书对应内容保持一致。",
    "1.申报类别包括：新职业、新工种、调整变更职业（工种）信息，三选其一。其中：新职业是指在《中华人民共和国职业分类大典"
    "（2022年版）》（以下简称《大典》）及人社部新职业信息发布文件中未收录的职业；新工种是指在《大典》中已收录职业下新增"
    "工种；调整变更职业（工种）信息是指调整或变更《大典》中已有职业或工种相关信息。",
    "2.职业（工种）名称：由最能说明该职业类别特性的组合名词构成，如：**工，**员，**师等。",
    "3.职业（工种）定义：用简练的语句表述职业的本质属性。",
    "4.与相关职业（工种）的关系：列出《大典》中与所填新职业相关或相近的职业名称及编码，并说明其区别。",
    "5.所属行业：请参照最新版《中华人民共和国国民经济行业分类》中的行业名称规范填写。",
]
SPECIAL_OPINION = (
    "经研究决定，我单位同意推荐上述项目成为专项职业能力考核项目，上述单位成为专项职业能力考核机构。"
    "我单位将结合产业发展需求，做好所辖领域技能评价工作的组织推动、行业指导，支持有关单位开展专项职业能力考核，"
    "并配合各级人社部门实施质量督导。"
)


class ExportError(LookupError):
    """No summary table for this track (its notice has none), or no such window."""


REMARK_COLUMN = ("remark", "备注", 18)
REMARK_NOTE = "备注栏为受理中心审核时所加标注（与其他申报重复、已纳入目录），报送或盖章前请核对并删除该栏。"
Cases = list[tuple[Submission, list[Reviewed]]]


@dataclass
class SummaryTable:
    """A filled summary table: what both the workbook and the Word document are written from."""

    attachment: str
    title: str
    heads: list[str]
    columns: list[tuple[str, str, int]]  # key, printed header, column width (characters)
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Rows below the table that span it: (label, text); the label sits in the first column.
    closing: list[tuple[str, str]] = field(default_factory=list)
    notes_title: str = ""
    notes: list[str] = field(default_factory=list)
    notice: str = ""
    window: date | None = None

    recommender: str = ""

    @property
    def file_stem(self) -> str:
        who = f"_{_file_safe(self.recommender)}" if self.recommender else ""
        return f"{self.title}（{self.window.isoformat() if self.window else ''}）{who}"


def _file_safe(text: str) -> str:
    return "".join("_" if char in '/\\:*?"<>|' else char for char in clean_line(text, 60)).strip(". ") or "推荐单位"


def _window_notice(track: str, start: date) -> Notice:
    for window in windows(track):
        if window.start == start:
            return window.notice
        if window.start > start:
            break
    raise ExportError(f"{track} 没有从 {start.isoformat()} 开始的受理期")


def accepted_documents(session: Session, submission: Submission) -> list[Reviewed]:
    """The documents a reviewer accepted, their corrections applied: those current when ``accepted`` was recorded.

    A mail after the decision is filed to the case as its new current version (the contract) without anyone
    reviewing it, so the export must not take the current documents. The decision's audit event names the
    documents it saw (``documents``); an older event names the mail it answered, whose version's latest reading
    (one row a file: a reprocess reads a file again) is taken.
    """
    assert submission.id is not None
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission.id, AuditEvent.action == "decision")
        .order_by(col(AuditEvent.id).desc())
    ).first()
    detail = event.detail if event is not None else {}
    rows: list[Document]
    named = [value for value in detail.get("documents") or [] if isinstance(value, int)]
    message = session.get(Message, detail["message_id"]) if isinstance(detail.get("message_id"), int) else None
    if named:
        rows = list(session.exec(select(Document).where(col(Document.id).in_(named)).order_by(col(Document.id))))
    elif message is not None and message.version is not None and message.version != submission.version:
        latest: dict[tuple[int, str, str], Document] = {}
        for row in session.exec(
            select(Document)
            .where(Document.submission_id == submission.id, Document.version == message.version)
            .order_by(col(Document.id))
        ):
            latest[(row.message_id, row.filename, row.sha256)] = row
        rows = sorted(latest.values(), key=lambda row: row.id or 0)
    else:
        rows = current_rows(session, submission.id)
    corrections = corrections_of(session, [row.id for row in rows if row.id is not None])
    mail = message or latest_message(session, submission.id)
    received = mail.received_at if mail is not None else submission.created_at
    return [corrected(row, corrections.get(row.id or 0, {}), received) for row in rows]


def accepted_cases(session: Session, track: str, start: date) -> Cases:
    """The accepted submissions of the window, oldest first, with the documents that were accepted."""
    ids = session.exec(
        select(QueueEntry.submission_id)
        .where(QueueEntry.track == track, QueueEntry.window_start == start)
        .where(QueueEntry.status == SubmissionStatus.accepted.value)
        .order_by(col(QueueEntry.received_at), col(QueueEntry.submission_id))
    ).all()
    found = []
    for submission_id in ids:
        submission = session.get(Submission, submission_id)
        if submission is not None and submission.status == SubmissionStatus.accepted:
            found.append((submission, accepted_documents(session, submission)))
    return found


def _of(documents: list[Reviewed], *forms: str) -> list[Reviewed]:
    """The documents of these forms, the editable copy of each form first (it is what a clerk copies from)."""
    chosen = [document for document in documents if document.row.form in forms]
    return sorted(chosen, key=lambda document: document.row.format == "pdf")


def _one_copy(documents: list[Reviewed]) -> list[Reviewed]:
    """One copy of each filled form: a WORD and its PDF export say the same; the WORD is kept."""
    kept: list[Reviewed] = []
    seen: set[tuple[str, str]] = set()
    for document in documents:
        key = (document.row.form, show(document.fields.get("name") or document.fields.get("project") or ""))
        if key in seen:
            continue
        seen.add(key)
        kept.append(document)
    return kept


def _recommenders(cases: list[tuple[Submission, list[Reviewed]]], forms: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for submission, documents in cases:
        found = [show(document.fields.get("recommender")) for document in _of(documents, *forms)]
        names.append(next((name for name in found if name), "") or clean_line(submission.sender_name, 80))
    return list(dict.fromkeys(name for name in names if name))


def _contacts(cases: list[tuple[Submission, list[Reviewed]]], forms: tuple[str, ...]) -> tuple[str, str]:
    """The contact person and phone when the table is one recommender's; blank for several (filled by hand)."""
    found = {
        (show(document.fields.get("contact_person")), show(document.fields.get("contact_phone")))
        for _, documents in cases
        for document in _of(documents, *forms)[:1]
    }
    return next(iter(found)) if len(found) == 1 else ("", "")


def _sh_new_occupation(cases: Cases) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for submission, documents in cases:
        names: set[str] = set()
        for summary in _of(documents, "new_occupation_summary")[:1]:
            for row in list_rows(summary.fields, "rows"):
                name = show(row.get("name"))
                names.add(name)
                rows.append({"name": name, "proposer": show(row.get("proposer")), **_source(submission, name)})
        for proposal in _one_copy(_of(documents, "new_occupation_proposal")):
            name = show(proposal.fields.get("name"))
            if name and name not in names:
                names.add(name)
                proposer = show(proposal.fields.get("signer")) or clean_line(submission.sender_name, 80)
                rows.append({"name": name, "proposer": proposer, **_source(submission, name)})
    return rows


def _gd_new_occupation(cases: Cases) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for submission, documents in cases:
        summary_rows = {
            show(row.get("name")): row
            for summary in _of(documents, "new_occupation_summary")[:1]
            for row in list_rows(summary.fields, "rows")
        }
        done: set[str] = set()
        for proposal in _one_copy(_of(documents, "new_occupation_proposal")):
            fields = proposal.fields
            name = show(fields.get("name"))
            listed = summary_rows.get(name, {})
            found = fields.get("contact")
            contact: dict[str, Any] = found if isinstance(found, dict) else {}
            person = " ".join(part for part in (show(contact.get("person")), show(contact.get("phone"))) if part)
            rows.append(
                {
                    "category": CATEGORY_LABELS.get(str(fields.get("category")), show(fields.get("category"))),
                    "name": name,
                    "alt_names": show(fields.get("alt_names")),
                    "definition": show(fields.get("definition")),
                    "related_occupations": show(fields.get("related_occupations")),
                    "industry": show(fields.get("industry")),
                    "proposer": show(listed.get("proposer"))
                    or show(fields.get("signer"))
                    or clean_line(submission.sender_name, 80),
                    "contact": show(listed.get("contact")) or person,
                    "city_reviewed": show(listed.get("city_reviewed"), "city_reviewed"),
                    **_source(submission, name),
                }
            )
            done.add(name)
        for name, row in summary_rows.items():
            if name not in done:
                rows.append({**{key: show(row.get(key), key) for key in GD_KEYS}, **_source(submission, name)})
    return rows


def _source(submission: Submission, name: str, *, listed: bool = False) -> dict[str, Any]:
    """What a row's 备注 is judged from, kept beside its printed cells (keys no column prints)."""
    return {"_case": submission.id, "_name": name, "_listed": listed}


def _table_rows(cases: Cases, form: str, keys: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for submission, documents in cases:
        for document in _of(documents, form)[:1]:
            listed = {finding.get("row") for finding in document.findings if finding.get("code") == "already_listed"}
            for number, row in enumerate(list_rows(document.fields, "rows"), 1):
                name = next(iter(proposed_names({"rows": [dict(row)]})), "")
                rows.append(
                    {key: show(row.get(key), key) for key in keys} | _source(submission, name, listed=number in listed)
                )
    return rows


def _special(cases: Cases) -> list[dict[str, Any]]:
    rows = []
    for row in _table_rows(cases, "special_ability_summary", [*SPECIAL_KEYS, "domain_code", "credit_code"]):
        domain, code = row.pop("domain", ""), row.pop("domain_code", "")
        row["domain"] = domain if not code or code in domain else f"{domain} {code}".strip()
        institution, credit = row.pop("institution", ""), row.pop("credit_code", "")
        row["institution"] = institution if not credit or credit in institution else f"{institution}（{credit}）"
        count = row.get("estimated_count", "")
        row["estimated_count"] = f"{count} 人" if count and count.isdigit() else count
        rows.append(row)
    return rows


GD_KEYS = [
    "category",
    "name",
    "alt_names",
    "definition",
    "related_occupations",
    "industry",
    "proposer",
    "contact",
    "city_reviewed",
]
SKILL_KEYS = [
    "code",
    "occupation",
    "work_type",
    "standard_name",
    "standard_version",
    "shortage_listed",
    "industries",
    "estimated_count",
    "reason",
]
SPECIAL_KEYS = ["domain", "project", "industries", "institution", "estimated_count", "reason"]
TRACKS_WITH_TABLES = (
    Track.new_occupation.value,
    Track.gd_new_occupation.value,
    Track.skill_level_occupation.value,
    Track.special_ability_project.value,
)


SUMMARY_FORMS = {
    Track.new_occupation.value: ("new_occupation_summary",),
    Track.gd_new_occupation.value: ("new_occupation_summary",),
    Track.skill_level_occupation.value: ("skill_level_recommendation",),
    Track.special_ability_project.value: ("special_ability_summary",),
}


class SeveralRecommenders(ExportError):
    """The window's accepted cases come from several 推荐单位: one table each (``names``), never one mixed."""

    def __init__(self, track: str, names: list[str]) -> None:
        super().__init__(f"该受理期已受理的申报来自 {len(names)} 个推荐单位，请分别导出或导出压缩包")
        self.track = track
        self.names = names


def recommender_of(submission: Submission, documents: list[Reviewed], forms: tuple[str, ...]) -> str:
    """The 推荐单位 of a case: its summary table's or 推荐表's, else the sender's name, else its address."""
    found = [show(document.fields.get("recommender")) for document in _of(documents, *forms)]
    return next((name for name in found if name), "") or clean_line(submission.sender_name, 80) or submission.sender


def _by_recommender(track: str, cases: Cases) -> list[tuple[str, Cases]]:
    """The cases grouped by 推荐单位 (names judged alike as :func:`zhengji.review.index.name_key` does), in the
    order their first case came."""
    groups: dict[str, tuple[str, Cases]] = {}
    for submission, documents in cases:
        name = recommender_of(submission, documents, SUMMARY_FORMS[track])
        groups.setdefault(name_key(name) or name, (name, []))[1].append((submission, documents))
    return list(groups.values())


def recommenders(session: Session, track: str, start: date) -> list[str]:
    """The 推荐单位 of the window's accepted cases, one a summary table."""
    if track not in TRACKS_WITH_TABLES:
        return []
    return [name for name, _ in _by_recommender(track, accepted_cases(session, track, start))]


def summary_tables(session: Session, track: str, start: date) -> list[SummaryTable]:
    """One summary table a 推荐单位 for the window that starts on ``start`` (one empty table when none)."""
    if track not in TRACKS_WITH_TABLES:
        raise ExportError(f"{track} 的通知未附汇总表")
    notice = _window_notice(track, start)
    cases = accepted_cases(session, track, start)
    shared = duplicates(session, [submission.id for submission, _ in cases if submission.id is not None])
    groups = _by_recommender(track, cases) or [("", [])]
    tables = []
    for name, group in groups:
        table = _layout(track, notice, group)
        table.notice, table.window, table.recommender = notice.number, start, name
        for number, row in enumerate(table.rows, 1):
            row["seq"] = str(number)
        _mark(table, shared)
        tables.append(table)
    return tables


def summary_table(session: Session, track: str, start: date, recommender: str | None = None) -> SummaryTable:
    """The track's summary table for the window that starts on ``start``: the one 推荐单位's, or the one named.

    :class:`SeveralRecommenders` when the window holds several and none is named.
    """
    tables = summary_tables(session, track, start)
    if recommender:
        wanted = name_key(recommender)
        for table in tables:
            if name_key(table.recommender) == wanted:
                return table
        raise ExportError(f"该受理期没有推荐单位“{clean_line(recommender, 80)}”的已受理申报")
    if len(tables) > 1:
        raise SeveralRecommenders(track, [table.recommender for table in tables])
    return tables[0]


def tables_zip(tables: list[SummaryTable], kind: str) -> bytes:
    """Each 推荐单位's table (``kind`` xlsx or docx) in one zip, named after its 推荐单位."""
    buffer = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            name = f"{table.file_stem}.{kind}"
            number = 2
            while name in taken:
                name = f"{table.file_stem}（{number}）.{kind}"
                number += 1
            taken.add(name)
            archive.writestr(name, to_xlsx(table) if kind == "xlsx" else to_docx(table))
    return buffer.getvalue()


def _mark(table: SummaryTable, shared: dict[int, dict[str, list[str]]]) -> None:
    """Fill the 备注 of rows that another case also proposes, or that are already in the catalog; add the column
    (and a line saying what it is) only when some row is marked, so that a clean table is the notice's own."""
    marked = False
    for row in table.rows:
        notes: list[str] = []
        key = name_key(str(row.get("_name") or ""))
        others = [
            reference
            for name, references in shared.get(int(row.get("_case") or 0), {}).items()
            if key and name_key(name) == key
            for reference in references
        ]
        if others:
            notes.append(f"与{'、'.join(dict.fromkeys(others))}重复申报")
        if row.get("_listed"):
            notes.append("已纳入目录（附件2），无需重复推荐")
        if notes:
            row["remark"] = "；".join(notes)
            marked = True
    if marked:  # new lists: the layouts share their notes with the module's constants
        table.columns = [*table.columns, REMARK_COLUMN]
        table.notes = [*table.notes, REMARK_NOTE]


def _layout(track: str, notice: Notice, cases: list[tuple[Submission, list[Reviewed]]]) -> SummaryTable:
    if track == Track.new_occupation:
        forms = ("new_occupation_summary",)
        person, phone = _contacts(cases, forms)
        return SummaryTable(
            "附件2",
            "新职业汇总表",
            [
                f"推荐单位（加盖公章）：{'、'.join(_recommenders(cases, forms))}",
                f"联系人：{person}",
                f"联系电话：{phone}",
            ],
            [("seq", "序号", 8), ("name", "新职业名称", 36), ("proposer", "新职业建议单位", 40)],
            _sh_new_occupation(cases),
            closing=[("推荐单位意见", "年　月　日")],
        )
    if track == Track.gd_new_occupation:
        forms = ("new_occupation_summary",)
        return SummaryTable(
            "附件2",
            "新职业信息汇总表",
            [f"填表人及联系方式（单位盖章）：{'、'.join(_recommenders(cases, forms))}", "填报时间："],
            [
                ("seq", "序号", 6),
                ("category", "申报类别", 10),
                ("name", "职业（工种）名称", 16),
                ("alt_names", "备选名称", 12),
                ("definition", "职业（工种）定义", 30),
                ("related_occupations", "与相关职业（工种）的关系", 24),
                ("industry", "所属行业", 14),
                ("proposer", "申报单位", 18),
                ("contact", "联系人及电话", 16),
                ("city_reviewed", "地市是否有初审", 10),
            ],
            _gd_new_occupation(cases),
            notes=GD_NOTES,
        )
    if track == Track.skill_level_occupation:
        forms = ("skill_level_recommendation",)
        person, phone = _contacts(cases, forms)
        older = notice.date.year < 2025
        standard = "国家职业技能标准" if older else "国家职业标准"
        return SummaryTable(
            "附件" if older else "附件1",
            "社会化职业技能等级认定职业（工种）推荐表",
            [f"推荐单位（加盖公章）：{'、'.join(_recommenders(cases, forms))}"],
            [
                ("seq", "序号", 6),
                ("code", "职业编码", 12),
                ("occupation", "职业", 14),
                ("work_type", "工种", 12),
                ("standard_name", f"{standard}名称", 18),
                ("standard_version", f"{standard}版本", 12),
                ("shortage_listed", "是否已纳入急需紧缺职业目录", 12),
                ("industries", "产业类别", 14),
                ("estimated_count", "预计评价人次", 10),
                ("reason", "推荐理由", 30),
            ],
            _table_rows(cases, "skill_level_recommendation", SKILL_KEYS),
            closing=[("", f"联系人：{person}　　联系方式：{phone}　　　　年　月　日")],
            notes_title="填表说明",
            notes=SKILL_NOTES_2024 if older else SKILL_NOTES_2025,
        )
    forms = ("special_ability_summary",)
    person, phone = _contacts(cases, forms)
    return SummaryTable(
        "附件1",
        "专项职业能力考核项目及考核机构推荐汇总表",
        [f"推荐单位（加盖公章）：{'、'.join(_recommenders(cases, forms))}　　联系人：{person}　　联系电话：{phone}"],
        [
            ("seq", "序号", 6),
            ("domain", "所属领域及代码", 22),
            ("project", "项目名称", 18),
            ("industries", "产业类别", 14),
            ("institution", "拟承担评价任务的考核机构（统一社会信用代码）", 30),
            ("estimated_count", "预计考核人次", 10),
            ("reason", "推荐理由", 26),
        ],
        _special(cases),
        closing=[("推荐意见", SPECIAL_OPINION), ("", "年　月　日")],
        notes_title="填表说明",
        notes=SPECIAL_NOTES,
    )


# --- Excel ---------------------------------------------------------------------------------------------------


def to_xlsx(table: SummaryTable) -> bytes:
    """The table as the notice prints it, in an A4 landscape workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]
    width = len(table.columns)
    last = get_column_letter(width)
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    body_font = Font(name="宋体", size=11)
    wrap = Alignment(wrap_text=True, vertical="center")
    row = 1
    put(sheet, row, 1, table.attachment).font = Font(name="黑体", size=12)
    row += 1
    sheet.merge_cells(f"A{row}:{last}{row}")
    title = put(sheet, row, 1, table.title)
    title.font = Font(name="方正小标宋简体", size=18, bold=True)
    title.alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[row].height = 36
    for line in table.heads:
        row += 1
        sheet.merge_cells(f"A{row}:{last}{row}")
        cell = put(sheet, row, 1, line)
        cell.font = body_font
        cell.alignment = Alignment(horizontal="left", vertical="center")
    row += 1
    header_row = row
    for number, (_, header, columns) in enumerate(table.columns, 1):
        cell = put(sheet, row, number, header)
        cell.font = Font(name="黑体", size=11)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = box
        sheet.column_dimensions[get_column_letter(number)].width = columns * 1.8 + 2
    sheet.row_dimensions[row].height = 34
    for values in table.rows:
        row += 1
        for number, (key, _, _) in enumerate(table.columns, 1):
            cell = put(sheet, row, number, values.get(key, ""))
            cell.font = body_font
            cell.border = box
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True) if key == "seq" else wrap
    for label, text in table.closing:
        row += 1
        if label:
            put(sheet, row, 1, label).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            sheet.merge_cells(f"B{row}:{last}{row}")
            target = put(sheet, row, 2, text)
        else:
            sheet.merge_cells(f"A{row}:{last}{row}")
            target = put(sheet, row, 1, text)
        target.alignment = Alignment(
            horizontal="right" if text.endswith("日") else "left", vertical="center", wrap_text=True
        )
        for number in range(1, width + 1):
            sheet.cell(row, number).border = box
            sheet.cell(row, number).font = body_font
        sheet.row_dimensions[row].height = 30 if len(text) < 60 else 60
    if table.notes:
        row += 2
        if table.notes_title:
            put(sheet, row, 1, table.notes_title).font = Font(name="黑体", size=12)
            row += 1
        for note in table.notes:
            sheet.merge_cells(f"A{row}:{last}{row}")
            cell = put(sheet, row, 1, note)
            cell.font = body_font
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.row_dimensions[row].height = 15 * max(1, len(note) // 90 + 1)
            row += 1
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    book.properties.title = table.title
    book.properties.creator = "zhengji"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- Word ----------------------------------------------------------------------------------------------------


def _east_asian(run: Any, font: str, size: float, *, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = font
    run.font.size = Pt(size)
    run.font.bold = bold
    properties = run._element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = properties.makeelement(qn("w:rFonts"), {})
        properties.append(fonts)
    fonts.set(qn("w:eastAsia"), font)


def to_docx(table: SummaryTable) -> bytes:
    """The table as the notice prints it, on A4 landscape pages, its header row repeated on every page."""
    from docx import Document as WordDocument
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm

    document = WordDocument()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    _east_asian(document.add_paragraph().add_run(table.attachment), "黑体", 14)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _east_asian(heading.add_run(table.title), "方正小标宋简体", 20)
    for line in table.heads:
        _east_asian(document.add_paragraph().add_run(line), "仿宋", 12)
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    total = sum(columns for _, _, columns in table.columns)
    widths = [Cm(25.7 * columns / total) for _, _, columns in table.columns]
    header = grid.rows[0]
    header_properties = header._tr.get_or_add_trPr()
    repeat = header_properties.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"})
    header_properties.append(repeat)
    for cell, (_, title, _), size in zip(header.cells, table.columns, widths, strict=True):
        cell.width = size
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _east_asian(paragraph.add_run(title), "黑体", 10.5)
    for values in table.rows:
        cells = grid.add_row().cells
        for cell, (key, _, _), size in zip(cells, table.columns, widths, strict=True):
            cell.width = size
            paragraph = cell.paragraphs[0]
            if key == "seq":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _east_asian(paragraph.add_run(values.get(key, "")), "仿宋", 10.5)
    for label, text in table.closing:
        cells = grid.add_row().cells
        if label:
            merged = cells[1].merge(cells[-1])
            _east_asian(cells[0].paragraphs[0].add_run(label), "黑体", 10.5)
        else:
            merged = cells[0].merge(cells[-1])
        paragraph = merged.paragraphs[0]
        if text.endswith("日"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _east_asian(paragraph.add_run(text), "仿宋", 10.5)
    if table.notes:
        if table.notes_title:
            _east_asian(document.add_paragraph().add_run(table.notes_title), "黑体", 12)
        for note in table.notes:
            _east_asian(document.add_paragraph().add_run(note), "仿宋", 10.5)
    document.core_properties.title = table.title
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- the originals -------------------------------------------------------------------------------------------


def _member_name(reference: str, filename: str, taken: set[str]) -> str:
    base = PurePosixPath(filename.replace("\\", "/").replace(" › ", "/")).name
    base = "".join("_" if char in '/\\:*?"<>|' else char for char in clean_line(base, 120)).strip(". ") or "文件"
    name = f"{reference}/{base}"
    number = 2
    while name in taken:
        stem, dot, suffix = base.rpartition(".")
        name = f"{reference}/{stem or base}（{number}）{dot}{suffix if stem else ''}"
        number += 1
    taken.add(name)
    return name


def originals_zip(session: Session, blobs: BlobStore, track: str, start: date, target: IO[bytes]) -> int:
    """Write the accepted submissions' original files into a zip, one folder a reference; returns the count."""
    written = 0
    taken: set[str] = set()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for submission, documents in accepted_cases(session, track, start):
            for document in documents:
                try:
                    data = document_bytes(session, document.row, blobs)
                except OriginalMissing:
                    continue
                archive.writestr(_member_name(submission.reference, document.row.filename, taken), data)
                written += 1
    return written


def iter_file(path: Path, chunk: int = 1 << 16) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while block := stream.read(chunk):
            yield block


__all__ = [
    "SeveralRecommenders",
    "SummaryTable",
    "accepted_documents",
    "is_blank",
    "originals_zip",
    "recommenders",
    "summary_table",
    "summary_tables",
    "tables_zip",
    "to_docx",
    "to_xlsx",
]
