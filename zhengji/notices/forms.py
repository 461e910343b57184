"""The notices' forms as data: titles, sections, labels and their accepted wordings, columns, limits, required.

One TOML file per form in ``notices/data/forms/`` names, for every field, the label the notice prints (and the
Guangdong wording where it differs), other wordings applicants use, whether the contract requires it, its
length limit and the clause it comes from. Classification, extraction, the checks and the messages all read
their labels from here, so a sixth notice with a new form is a data file (plus, at most, an extractor for a
truly new table shape), not an edit in ten tables.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from zhengji.notices.registry import FormId

FieldKind = Literal["text", "list", "table", "ticks", "signature", "date"]


# The settings a form's ``[matching]`` table may override (those of ``_synonyms.toml``).
_MATCHING_KEYS = frozenset(
    {
        "threshold",
        "margin",
        "header_threshold",
        "header_margin",
        "stop_threshold",
        "align_floor",
        "align_min_shared",
        "align_max_gap",
    }
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Spec):
    """A column of a table field or of a table form's rows."""

    key: str
    label: str
    guangdong: str | None = None
    accepted: tuple[str, ...] = ()
    required: bool = False
    # Required in Guangdong's table only (its 汇总表 repeats the 建议书's fields).
    required_guangdong: bool = False
    # Read out of another column, not a header of its own ("所属领域及代码" holds the domain code).
    derived: bool = False

    def required_in(self, province: str | None) -> bool:
        return self.required or (province == "guangdong" and self.required_guangdong)

    def label_for(self, province: str | None) -> str:
        return self.guangdong if province == "guangdong" and self.guangdong else self.label

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.label, *((self.guangdong,) if self.guangdong else ()), *self.accepted)


class FieldSpec(ColumnSpec):
    """A field outside the form's row table: a labelled text, a list, a table section, ticks, a date line."""

    section: str | None = None
    kind: FieldKind = "text"
    limit: int | None = None
    clause: str = ""
    columns: tuple[ColumnSpec, ...] = ()


class SectionSpec(_Spec):
    """A numbered section heading ("七、有关法律法规情况"); ``field`` when the heading is itself a field's label."""

    key: str
    heading: str
    number: str | None = None
    guangdong: str | None = None
    accepted: tuple[str, ...] = ()
    optional: bool = False
    # A section a notice may waive for some categories (粤 调整变更: 三 to 八).
    waivable: bool = False
    field: str | None = None
    clause: str = ""

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.heading, *((self.guangdong,) if self.guangdong else ()), *self.accepted)


class FormSpec(_Spec):
    """One form of the notices (the contract's form id)."""

    id: FormId
    source: str
    title: str
    guangdong_title: str | None = None
    title_patterns: tuple[str, ...]
    distinctive: tuple[str, ...] = ()
    enough: int = 3
    sections: tuple[SectionSpec, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    # A table form's rows (汇总表, 推荐表): the columns, and the texts that end the table.
    rows: tuple[ColumnSpec, ...] = ()
    row_stops: tuple[str, ...] = ()
    # This form's own thresholds of label matching, where it needs other ones than the defaults of
    # ``_synonyms.toml`` ``[matching]`` (parsers/forms/matching.py: ``thresholds``).
    matching: dict[str, float] = {}

    @model_validator(mode="after")
    def _references(self) -> FormSpec:
        sections = {section.key for section in self.sections}
        for field in self.fields:
            if field.section is not None and field.section not in sections:
                raise ValueError(f"{self.id.value}: field {field.key} names unknown section {field.section}")
        unknown = set(self.matching) - _MATCHING_KEYS
        if unknown:
            raise ValueError(f"{self.id.value}: [matching] has no setting {', '.join(sorted(unknown))}")
        for name in self.distinctive:
            if not self.wordings_of(name):
                raise ValueError(f"{self.id.value}: distinctive {name} is no field, section or column")
        return self

    def title_for(self, province: str | None) -> str:
        return self.guangdong_title if province == "guangdong" and self.guangdong_title else self.title

    def field(self, key: str) -> FieldSpec | None:
        return next((field for field in self.fields if field.key == key), None)

    def section(self, key: str) -> SectionSpec | None:
        return next((section for section in self.sections if section.key == key), None)

    def column(self, path: str) -> ColumnSpec | None:
        """A row column (``rows.code``) or a table field's column (``tasks.weight``)."""
        owner, _, name = path.partition(".")
        columns = self.rows if owner == "rows" else getattr(self.field(owner), "columns", ())
        return next((column for column in columns if column.key == name), None)

    def wordings_of(self, name: str) -> tuple[str, ...]:
        """The wordings of a field's label, a section's heading, or a column's header (``rows.code``)."""
        field = self.field(name)
        if field is not None:
            return field.wordings
        section = self.section(name)
        if section is not None:
            return section.wordings
        column = self.column(name) if "." in name else None
        return column.wordings if column is not None else ()

    def labels(self, province: str | None = None) -> Iterator[tuple[str, str]]:
        """(path, printed label) of every field, table column (``tasks.content``) and row column (``rows.code``)."""
        for field in self.fields:
            yield field.key, field.label_for(province)
            for column in field.columns:
                yield f"{field.key}.{column.key}", column.label_for(province)
        for column in self.rows:
            yield f"rows.{column.key}", column.label_for(province)

    def optional_sections(self) -> set[str]:
        return {section.key for section in self.sections if section.optional}

    def waivable_sections(self) -> set[str]:
        return {section.key for section in self.sections if section.waivable}

    def required_paths(self, kinds: tuple[FieldKind, ...] = ("text", "list", "date")) -> list[str]:
        """The required fields of these kinds, in the form's order (tables and tick boxes have rules of their own)."""
        return [field.key for field in self.fields if field.required and field.kind in kinds]

    def required_columns(self, key: str, province: str | None = None) -> list[str]:
        """The columns every row of table ``key`` (``rows``, ``tasks``) must fill."""
        field = self.field(key)
        columns = self.rows if key == "rows" else (field.columns if field is not None else ())
        return [column.key for column in columns if column.required_in(province)]

    def header_aliases(self, key: str = "rows") -> dict[str, tuple[str, ...]]:
        """Column → header wordings of a row table (``rows``) or a table field, for reading its rows."""
        field = self.field(key)
        columns = self.rows if key == "rows" else (field.columns if field is not None else ())
        return {column.key: column.wordings for column in columns if not column.derived}

    def limits(self) -> dict[str, int]:
        """Length limits printed on the form ("新职业产生背景（400 字以内）")."""
        return {field.key: field.limit for field in self.fields if field.limit is not None}

    def section_of(self, path: str) -> str | None:
        field = self.field(path)
        return field.section if field is not None else None


@cache
def form_specs() -> dict[FormId, FormSpec]:
    """Every form's definition, read once from the package data."""
    folder = resources.files("zhengji.notices") / "data" / "forms"
    specs: dict[FormId, FormSpec] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml") and not entry.name.startswith("_"):
            spec = FormSpec.model_validate(tomllib.loads(entry.read_text(encoding="utf-8")))
            specs[spec.id] = spec
    return specs


def form_spec(form: FormId | str) -> FormSpec | None:
    return form_specs().get(FormId(form))


def require_spec(form: FormId) -> FormSpec:
    """The definition of a form an extractor cannot work without (a missing data file is a packaging bug)."""
    spec = form_specs().get(form)
    if spec is None:
        raise LookupError(f"no form data for {form.value} in notices/data/forms")
    return spec


@cache
def forms_digest() -> str:
    """A digest of the form data, part of the parser version: new wordings change what parsing yields."""
    folder = resources.files("zhengji.notices") / "data" / "forms"
    digest = hashlib.sha256()
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()
