"""The notice registry: the five public notices, read from ``data/`` and validated.

Rules live in data so that next quarter's notice is a data change; this module only knows their shape.
"""

from __future__ import annotations

import csv
import tomllib
import unicodedata
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Track(StrEnum):
    """What a submission applies for; one track may span several notices."""

    new_occupation = "new_occupation"
    skill_level_occupation = "skill_level_occupation"
    evaluator_org = "evaluator_org"
    special_ability_project = "special_ability_project"
    special_ability_institution = "special_ability_institution"
    gd_new_occupation = "gd_new_occupation"


class FormId(StrEnum):
    """The contract's form ids."""

    new_occupation_proposal = "new_occupation_proposal"
    new_occupation_summary = "new_occupation_summary"
    skill_level_recommendation = "skill_level_recommendation"
    evaluator_recommendation_letter = "evaluator_recommendation_letter"
    special_ability_summary = "special_ability_summary"
    special_ability_proposal = "special_ability_proposal"
    special_ability_content = "special_ability_content"
    unknown = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodRule(_Strict):
    """A one-off period, both ends inclusive ("即日起至2024年10月22日止")."""

    kind: Literal["period"]
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PeriodRule:
        if self.end < self.start:
            raise ValueError("period ends before it starts")
        return self


class MonthlyRule(_Strict):
    """Days ``first_day``–``last_day`` of the named months, every year from ``effective_from`` on.

    ``last_day`` past a month's end means its last day (the contract: February's "20日-30日" ends on the 28th or 29th).
    """

    kind: Literal["monthly"]
    months: list[Annotated[int, Field(ge=1, le=12)]]
    first_day: Annotated[int, Field(ge=1, le=31)]
    last_day: Annotated[int, Field(ge=1, le=31)]
    effective_from: date


class DeadlineRule(_Strict):
    """Consecutive collection periods that end on deadlines: the explicit ones, then ``MM-DD`` every year."""

    kind: Literal["deadlines"]
    start: date
    deadlines: list[date]
    yearly: list[str]

    @field_validator("yearly")
    @classmethod
    def _month_days(cls, values: list[str]) -> list[str]:
        for value in values:
            month, day = (int(part) for part in value.split("-"))
            date(2000, month, day)  # raises on an impossible day; 2000 is a leap year, so 02-29 passes
        return sorted(values)


WindowRule = Annotated[PeriodRule | MonthlyRule | DeadlineRule, Field(discriminator="kind")]


class DocumentRule(_Strict):
    """A form that a track asks for."""

    form: FormId
    name: str
    attachment: str
    required: bool
    # Every format listed is required ("pdf" and "word"); an empty list accepts any readable format.
    formats: list[Literal["pdf", "word"]]
    signature: str | None = None
    optional_sections: Literal["warning", "error"] = "warning"
    sections_waived_for: list[str] = []


class Material(_Strict):
    """A required material that is no form of the notice, recognised by words in its file name."""

    name: str
    keywords: list[str]


class TrackRule(_Strict):
    """What one notice says of one track."""

    id: Track
    name: str
    mailbox: str
    window: WindowRule
    documents: list[DocumentRule] = []
    materials: list[Material] = []


class TagGroup(_Strict):
    label: str
    aliases: list[str]
    tags: list[str]


class IndustryTags(_Strict):
    """The 产业类别 labels of a 填表说明: tags by group, plus free text for the free-text group."""

    forms: list[FormId]
    separator: str
    free_text_group: str
    groups: list[TagGroup]

    def listed_tags(self) -> set[str]:
        return {tag for group in self.groups for tag in group.tags}

    def group_labels(self) -> set[str]:
        """Group names that applicants sometimes write as if they were tags (``"3+6产业"``)."""
        labels = {_fold(group.label) for group in self.groups}
        labels |= {_fold(alias) for group in self.groups for alias in group.aliases}
        return labels


class CatalogRef(_Strict):
    file: str
    title: str
    attachment: str


class Notice(_Strict):
    """One public notice and the tracks it opens."""

    id: str
    number: str
    date: date
    title: str
    issuer: str
    # Who receives and answers the mail (the name that signs zhengji's replies).
    office: str
    province: Literal["shanghai", "guangdong"]
    source: str
    tracks: list[TrackRule]
    industry_tags: IndustryTags | None = None
    catalog: CatalogRef | None = None


class CatalogEntry(BaseModel):
    """One row of 沪人社职〔2025〕76号 附件2: an occupation (工种) already open to organisations."""

    model_config = ConfigDict(frozen=True)

    seq: int
    code: str
    name: str
    occupation: str
    levels: tuple[int, ...]
    special_ability: bool

    @property
    def work_type(self) -> str | None:
        """The 工种 in brackets after the occupation's name, if the row names one."""
        folded = _fold(self.name)
        base = _fold(self.occupation)
        if folded.startswith(base + "(") and folded.endswith(")"):
            return folded[len(base) + 1 : -1]
        return None


def _fold(text: str) -> str:
    """Compare names as a clerk would: full-width and half-width brackets alike, spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", text).split())


class Catalog:
    """The published catalog, searchable by code and by name."""

    def __init__(self, entries: Iterable[CatalogEntry], source: str) -> None:
        self.entries = tuple(entries)
        self.source = source
        self._by_name = {_fold(entry.name): entry for entry in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def by_code(self, code: str) -> list[CatalogEntry]:
        key = _fold(code).upper()
        return [entry for entry in self.entries if entry.code.upper() == key]

    def by_name(self, name: str) -> CatalogEntry | None:
        return self._by_name.get(_fold(name))

    def find(self, code: str | None, occupation: str | None, work_type: str | None) -> CatalogEntry | None:
        """The catalog row a 推荐表 row names: by code (and 工种 when the code has several rows), else by name."""
        if code:
            rows = self.by_code(code)
            if not rows:
                return None
            wanted = _fold(work_type) if work_type else None
            for entry in rows:
                if (entry.work_type or None) == wanted:
                    return entry
            return None
        if occupation:
            name = f"{occupation}({work_type})" if work_type else occupation
            return self.by_name(name)
        return None


def _parse_levels(text: str) -> tuple[tuple[int, ...], bool]:
    if text.strip() == "专项职业能力":
        return (), True
    return tuple(int(part) for part in text.replace(",", "、").split("、") if part.strip()), False


class Registry:
    """All notices, with the questions the rest of zhengji asks of them."""

    def __init__(self, notices: Iterable[Notice], catalogs: dict[str, Catalog]) -> None:
        self.notices = tuple(sorted(notices, key=lambda notice: notice.date))
        self._catalogs = catalogs

    def notice(self, notice_id: str) -> Notice:
        for notice in self.notices:
            if notice.id == notice_id or notice.number == notice_id:
                return notice
        raise KeyError(notice_id)

    def track_rules(self, track: Track | str) -> list[tuple[Notice, TrackRule]]:
        """Every notice's rule for ``track``, oldest notice first."""
        track = Track(track)
        return [(notice, rule) for notice in self.notices for rule in notice.tracks if rule.id == track]

    def tracks(self) -> list[Track]:
        return [track for track in Track if self.track_rules(track)]

    def mailboxes(self) -> list[str]:
        """The addresses the notices name, in the order they first appear."""
        seen: dict[str, None] = {}
        for notice in self.notices:
            for rule in notice.tracks:
                seen.setdefault(rule.mailbox.lower(), None)
        return list(seen)

    def catalog(self, notice_id: str | None = None) -> Catalog:
        """The published catalog (of 76号 unless another notice is named)."""
        if notice_id is None:
            return next(iter(self._catalogs.values()))
        return self._catalogs[self.notice(notice_id).id]


def _read_catalog(notice: Notice) -> Catalog:
    assert notice.catalog is not None
    text = resources.files("zhengji.notices").joinpath("data", notice.catalog.file).read_text("utf-8")
    entries = []
    for row in csv.DictReader(text.splitlines()):
        levels, special = _parse_levels(row["levels"])
        entries.append(
            CatalogEntry(
                seq=int(row["seq"]),
                code=row["code"].strip(),
                name=row["name"].strip(),
                occupation=row["occupation"].strip(),
                levels=levels,
                special_ability=special,
            )
        )
    return Catalog(entries, source=f"{notice.number} {notice.catalog.attachment}")


@cache
def load_registry() -> Registry:
    """Read and validate every notice file shipped in ``zhengji/notices/data``."""
    data = resources.files("zhengji.notices").joinpath("data")
    notices = []
    for entry in sorted(data.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            try:
                notices.append(Notice.model_validate(tomllib.loads(entry.read_text("utf-8"))))
            except ValueError as error:
                raise ValueError(f"notice file {entry.name}: {error}") from error
    catalogs = {notice.id: _read_catalog(notice) for notice in notices if notice.catalog}
    return Registry(notices, catalogs)
