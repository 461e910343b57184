"""The case page's forms: each form once, its Word reading with its PDF copy beside it.

The notices ask for every form as WORD and as PDF, so a case holds most forms twice. Listed twice, a reviewer read
every field twice and could not see where the copies disagree. Here the copies are paired by the checker's own rule
(:func:`zhengji.parsers.twins.pair_twins`) and compared by its own test (:func:`~zhengji.parsers.twins.disagreements`,
which uses ``agree``): the editable copy, the text of record, is shown field by field, and a field the PDF reads
otherwise is marked with both values. A PDF without an editable twin (or a Word copy without a PDF) is a form of
its own. Each field also knows its page in the PDF where that can be found (:mod:`zhengji.review.pages`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.twins import Twins, disagreements, pair_twins
from zhengji.review.fields import finding_path, get_path, show
from zhengji.review.originals import OriginalMissing, document_bytes
from zhengji.review.pages import PAGES, page_of
from zhengji.review.recheck import Case, Reviewed
from zhengji.storage.blobs import BlobStore
from zhengji.web.staff.layout import DocumentView, FieldView, TableView, document_view

Pages = Callable[[Reviewed], list[str]]  # a PDF copy's pages' text (empty when unknown)


@dataclass
class Difference:
    """A field the two copies read differently: what the PDF says, and the checker's sentence about it."""

    pdf_value: str
    message: str


@dataclass
class FormView:
    """One form of the case: the copy whose text counts, the PDF beside it (itself, for a PDF alone)."""

    record: DocumentView
    pdf: DocumentView | None
    differences: dict[str, Difference] = field(default_factory=dict)  # by the record's field path
    unplaced: list[str] = field(default_factory=list)  # differences on a field the record's view does not list
    pages: dict[str, int] = field(default_factory=dict)  # field path → page of the PDF copy

    @property
    def pdf_id(self) -> int | None:
        """The PDF shown in the pane for this form: the twin, or the record itself when it is the PDF."""
        if self.pdf is not None:
            return self.pdf.document_id
        return self.record.document_id if self.record.is_pdf else None

    @property
    def pdf_notes(self) -> list[dict[str, Any]]:
        """What the PDF copy's reading says for staff (unlocated fields, the file itself), listed once."""
        if self.pdf is None:
            return []
        return [finding for finding in self.pdf.reviewed.findings if finding.get("code") != "mismatch"]


def _parsed(reviewed: Reviewed) -> ParsedDocument:
    """A reviewed document as the checker's twin rule reads it (the corrected fields, as the re-check does)."""
    row = reviewed.row
    return ParsedDocument(
        file=row.filename,
        format=row.format,
        form=row.form,
        fields=reviewed.fields,
        findings=[Finding.model_validate(finding) for finding in reviewed.findings],
        red_seals=row.red_seals,
        text_layer=row.text_layer,
        sha256=row.sha256 or None,
        size=row.size,
    )


def _paths(view: DocumentView) -> Iterator[FieldView | TableView]:
    for section in view.sections:
        for item in section.items:
            yield item
            if isinstance(item, TableView):
                for cells in item.rows:
                    yield from cells


def _differences(form: FormView, twins: Twins) -> None:
    listed = {item.path for item in _paths(form.record)}
    for finding in disagreements(twins):
        path = finding_path(finding.as_json()) or ""
        if path in listed:
            value = get_path(twins.pdf.fields, path)
            shown = f"{len(value)} 行" if isinstance(value, list) else show(value, path) or "（空）"
            form.differences[path] = Difference(shown, finding.message)
        else:
            form.unplaced.append(finding.message)


def _pages(form: FormView, texts: list[str], pdf_fields: dict[str, Any]) -> None:
    if not texts:
        return
    for item in _paths(form.record):
        if isinstance(item, TableView):
            continue
        found = page_of(texts, show(get_path(pdf_fields, item.path), item.path)) or page_of(texts, item.value)
        if found is not None:
            form.pages[item.path] = found


def form_views(case: Case, pages: Pages | None = None) -> list[FormView]:
    """The case's forms in the order their text of record came, each once, its PDF copy beside it."""
    parsed = [_parsed(reviewed) for reviewed in case.documents]
    index = {id(document): number for number, document in enumerate(parsed)}
    twins = {index[id(pair.record)]: (index[id(pair.pdf)], pair) for pair in pair_twins(parsed)}
    paired_pdfs = {pdf for pdf, _ in twins.values()}
    views = [document_view(reviewed) for reviewed in case.documents]
    forms: list[FormView] = []
    for number, view in enumerate(views):
        if number in paired_pdfs:
            continue
        twin = twins.get(number)
        form = FormView(view, views[twin[0]] if twin else None)
        if twin is not None:
            _differences(form, twin[1])
        pdf_source = case.documents[twin[0]] if twin else case.documents[number] if view.is_pdf else None
        if pages is not None and pdf_source is not None and pdf_source.row.text_layer:
            _pages(form, pages(pdf_source), pdf_source.fields)
        forms.append(form)
    return forms


def twin_mismatch(finding: dict[str, Any], forms: list[FormView]) -> bool:
    """A case-level ``mismatch`` between a form's two copies: shown on the form's fields, not again above them."""
    pdfs = {form.pdf.reviewed.row.filename for form in forms if form.pdf is not None}
    return finding.get("code") == "mismatch" and finding.get("file") in pdfs


def pdf_pages(session: Session, blobs: BlobStore) -> Pages:
    """The pages' text of a case's PDF copies, from the original files (read once each, in a worker)."""

    def texts(reviewed: Reviewed) -> list[str]:
        row = reviewed.row

        def load() -> bytes:
            try:
                return document_bytes(session, row, blobs)
            except OriginalMissing:
                return b""

        return PAGES.texts(row.sha256 or f"document-{row.id}", load) if row.sha256 else []

    return texts
