"""A document's fields laid out as its form prints them: sections in order, each field under its own label,
each finding beside the field it is about, the reviewer's corrections beside the machine's reading.

The order, the sections and the labels come from the form data (:func:`zhengji.notices.forms.form_specs`),
Guangdong's wording for a Guangdong form. Whatever the document holds that the form data does not list is
shown at the end, so that nothing read is hidden from the reviewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zhengji.notices.forms import ColumnSpec, FieldSpec, FormSpec, form_spec
from zhengji.parsers.checks.view import is_blank
from zhengji.parsers.titles import form_title
from zhengji.review.fields import finding_path, flatten, get_path, list_rows, show
from zhengji.review.recheck import Reviewed
from zhengji.review.versions import path_label
from zhengji.storage.models import Correction

UNLOCATED = "unlocated_field"
HEAD = "表头信息"
FORMAT_NAMES = {
    "docx": "Word",
    "doc": "Word（97-2003）",
    "wps": "WPS 文字",
    "pdf": "PDF",
    "xlsx": "Excel",
    "xls": "Excel（97-2003）",
}


@dataclass
class FieldView:
    path: str
    label: str
    value: str
    raw: Any
    findings: list[dict[str, Any]] = field(default_factory=list)
    correction: Correction | None = None
    original: str = ""

    @property
    def unlocated(self) -> bool:
        return any(finding.get("code") == UNLOCATED for finding in self.findings)

    @property
    def severity(self) -> str:
        levels = {finding.get("severity") for finding in self.findings if finding.get("code") != UNLOCATED}
        return "error" if "error" in levels else "warning" if levels else ""


@dataclass
class TableView:
    path: str
    label: str
    columns: list[tuple[str, str]]
    rows: list[list[FieldView]]
    findings: list[dict[str, Any]] = field(default_factory=list)  # about the table as a whole

    @property
    def unlocated(self) -> bool:
        return any(finding.get("code") == UNLOCATED for finding in self.findings)


@dataclass
class SectionView:
    title: str
    items: list[FieldView | TableView] = field(default_factory=list)


@dataclass
class DocumentView:
    reviewed: Reviewed
    title: str
    format_name: str
    sections: list[SectionView]
    general: list[dict[str, Any]]  # findings on the document as a whole (or on no field it shows)

    @property
    def document_id(self) -> int:
        return self.reviewed.document_id

    @property
    def is_pdf(self) -> bool:
        return self.reviewed.row.format == "pdf"

    @property
    def unlocated(self) -> int:
        return sum(1 for finding in self.reviewed.findings if finding.get("code") == UNLOCATED)

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.reviewed.findings if finding.get("severity") == "error")


def _by_path(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        path = finding_path(finding)
        grouped.setdefault(path or "", []).append(finding)
    return grouped


class _Builder:
    def __init__(self, reviewed: Reviewed, province: str | None) -> None:
        self.reviewed = reviewed
        self.province = province
        self.findings = _by_path(reviewed.findings)
        self.used: set[str] = set()

    def take(self, path: str) -> list[dict[str, Any]]:
        self.used.add(path)
        return self.findings.get(path, [])

    def field_view(self, path: str, label: str) -> FieldView:
        raw = get_path(self.reviewed.fields, path)
        correction = self.reviewed.corrections.get(path)
        value = show(raw, path)
        if path == "category" and raw == "new_occupation" and self.province != "guangdong":
            value = "全新职业"  # the Shanghai form's own word for the option (000 附件1 一)
        return FieldView(
            path=path,
            label=label,
            value=value,
            raw=raw,
            findings=self.take(path),
            correction=correction,
            original=show(correction.original, path) if correction is not None else "",
        )

    def table_view(self, key: str, label: str, columns: tuple[ColumnSpec, ...]) -> TableView:
        shown = [column for column in columns if not (column.key == "seq" and key == "rows")]
        rows = list_rows(self.reviewed.fields, key)
        cells = [
            [self.field_view(f"{key}.{number}.{column.key}", column.label_for(self.province)) for column in shown]
            for number in range(1, len(rows) + 1)
        ]
        # A cell the reviewer added after the last row is shown in a row of its own.
        return TableView(key, label, [(c.key, c.label_for(self.province)) for c in shown], cells, self.take(key))

    def item(self, spec: FormSpec, entry: FieldSpec) -> FieldView | TableView | None:
        present = not is_blank(get_path(self.reviewed.fields, entry.key)) or entry.key in self.findings
        if not present and not entry.required and entry.key not in self.reviewed.fields:
            return None
        label = entry.label_for(self.province)
        if entry.kind == "table":
            return self.table_view(entry.key, label, spec.rows if entry.key == "rows" else entry.columns)
        return self.field_view(entry.key, label)


def document_view(reviewed: Reviewed) -> DocumentView:
    row = reviewed.row
    province = reviewed.fields.get("province") if isinstance(reviewed.fields.get("province"), str) else None
    title = form_title(row.form, province)
    spec = form_spec(row.form) if row.form != "unknown" else None
    builder = _Builder(reviewed, province)
    sections: list[SectionView] = []
    if spec is not None:
        head = SectionView(HEAD)
        by_section: dict[str, SectionView] = {}
        for section in spec.sections:
            heading = section.guangdong if province == "guangdong" and section.guangdong else section.heading
            by_section[section.key] = SectionView(f"{section.number}、{heading}" if section.number else heading)
        for entry in spec.fields:
            item = builder.item(spec, entry)
            if item is None:
                continue
            by_section.get(entry.section or "", head).items.append(item)
        for key in by_section:
            builder.take(key)  # a finding on a whole section is shown with the section's fields
        sections = [section for section in [head, *by_section.values()] if section.items]
        for section_spec, view in zip(spec.sections, by_section.values(), strict=True):
            section_findings = builder.findings.get(section_spec.key, [])
            if section_findings and view.items and isinstance(view.items[0], FieldView):
                view.items[0].findings = [*section_findings, *view.items[0].findings]
    other = SectionView("其他读取内容")
    listed = {item.path for section in sections for item in section.items}
    for path in flatten(reviewed.fields):
        top = path.split(".")[0]
        if path in listed or top in listed or path == "province" or path in builder.used or top.endswith("_ticks"):
            continue
        if spec is not None and any(path.startswith(f"{item}.") for item in listed):
            continue
        other.items.append(builder.field_view(path, path_label(row.form, path, province)))
    if other.items:
        sections.append(other)
    general = [finding for path, found in builder.findings.items() if path not in builder.used for finding in found]
    return DocumentView(reviewed, title, FORMAT_NAMES.get(row.format, row.format.upper()), sections, general)


def findings_count(findings: list[Mapping[str, Any]]) -> tuple[int, int]:
    errors = sum(1 for finding in findings if finding.get("severity") == "error")
    return errors, len(findings) - errors
