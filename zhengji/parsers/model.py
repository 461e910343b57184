"""The shapes every parser step shares: a document's layout, a finding, a parsed document.

Readers (docx, PDF, xlsx, legacy via LibreOffice) turn bytes into a :class:`Layout`; the form modules read
fields from a Layout without knowing which format it came from; the checks turn fields into
:class:`Finding` objects. Keeping the Layout format-neutral is what lets one extractor serve a Word file,
its PDF export and an Excel retype of the same form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# Inserted into cell or paragraph text where the file holds a picture (a seal image, a scanned signature),
# so that the signature check can see "建议人（盖章或签字）：\uFFFC" without knowing the file format.
PICTURE = "\ufffc"
# Tick boxes are normalised to these two glyphs whatever the file used (☑ ☒ ■ √ ✓ (√), Wingdings F052/F0A3,
# legacy form-field check boxes, content-control check boxes).
CHECKED = "☑"
UNCHECKED = "☐"

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Cell:
    """One unique cell of a table: its top-left grid position, its spans, and its text.

    ``text`` keeps the cell's paragraphs joined by ``\\n``; a merged region appears once, at its top-left.
    """

    row: int
    col: int
    rowspan: int
    colspan: int
    text: str


@dataclass
class Table:
    """A table as a grid of unique cells (row and column numbers start at 0)."""

    cells: list[Cell]
    n_rows: int
    n_cols: int

    def at(self, row: int, col: int) -> Cell | None:
        """The cell covering grid position (row, col), merged or not."""
        for cell in self.cells:
            if cell.row <= row < cell.row + cell.rowspan and cell.col <= col < cell.col + cell.colspan:
                return cell
        return None

    def row(self, row: int) -> list[Cell]:
        """The unique cells that start in or cover ``row``, left to right."""
        seen: list[Cell] = []
        for col in range(self.n_cols):
            cell = self.at(row, col)
            if cell is not None and cell not in seen:
                seen.append(cell)
        return seen

    def rows(self) -> list[list[Cell]]:
        return [self.row(index) for index in range(self.n_rows)]


Block = str | Table


@dataclass
class Layout:
    """What a reader found in a file, in document order.

    ``blocks`` holds paragraphs (``str``) and tables in the order they appear, page headers first; readers put
    a page break as no block at all. ``text_layer`` is False for a PDF that is only scanned images.
    ``red_seals`` counts red round seals found on rendered PDF pages (the contract: they count as a stamp).
    """

    format: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None
    text_layer: bool = True
    red_seals: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def tables(self) -> list[Table]:
        return [block for block in self.blocks if isinstance(block, Table)]

    @property
    def paragraphs(self) -> list[str]:
        return [block for block in self.blocks if isinstance(block, str)]


class Finding(BaseModel):
    """One problem found, in the contract's shape; ``message`` is Chinese an applicant can act on."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    message: str
    field: str | None = None
    row: int | None = None
    file: str | None = None
    limit: int | None = None
    length: int | None = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Unreadable(Exception):
    """A file cannot be read; ``str()`` is the Chinese sentence telling the sender what to resend."""


class ParsedDocument(BaseModel):
    """A parsed and checked attachment (the contract's "A parsed document")."""

    file: str
    format: str
    form: str
    fields: dict[str, Any] = {}
    findings: list[Finding] = []
    # Evidence the submission check needs that is not part of the JSON (PDF seals, scans).
    red_seals: int = 0
    text_layer: bool = True
    sha256: str | None = None
    size: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "form": self.form,
            "fields": self.fields,
            "findings": [finding.as_json() for finding in self.findings],
        }
