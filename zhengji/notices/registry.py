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
    # Who fills the form in, as the notice's clause says (77号 二（一）: the 汇总表 is the 推荐单位's): the bot's
    # answer to "汇总表是谁填的".
    filled_by: str | None = None
    filled_by_clause: str | None = None
    optional_sections: Literal["warning", "error"] = "warning"
    sections_waived_for: list[str] = []


class Material(_Strict):
    """A required material that is no form of the notice, recognised by words in its file name."""

    name: str
    keywords: list[str]


class TrackRule(_Strict):
    """What one notice says of one track.

    ``channel`` names where the notice has the formal application made when that is not the mailbox (76号 二、（四）3:
    the 自助经办系统); ``mailbox_role`` says whether the notice gives the mailbox for submissions or for questions
    only. ``route`` is where the notice has the materials reported when it is not simply the mailbox (159号 三、（一）:
    to the city bureau first). Each names its clause, so that a reply can cite it.
    """

    id: Track
    name: str
    mailbox: str
    window: WindowRule
    documents: list[DocumentRule] = []
    materials: list[Material] = []
    materials_clause: str | None = None
    mailbox_role: Literal["submit", "consult"] = "submit"
    channel: str | None = None
    channel_clause: str | None = None
    route: str | None = None
    route_clause: str | None = None
    paper: str | None = None
    paper_clause: str | None = None

    @model_validator(mode="after")
    def _clauses(self) -> TrackRule:
        if (self.paper is None) != (self.paper_clause is None):
            raise ValueError(f"track {self.id}: paper and paper_clause go together")
        if (self.channel is None) != (self.channel_clause is None):
            raise ValueError(f"track {self.id}: channel and channel_clause go together")
        if (self.route is None) != (self.route_clause is None):
            raise ValueError(f"track {self.id}: route and route_clause go together")
        if self.mailbox_role == "consult" and self.channel is None:
            raise ValueError(f"track {self.id}: a consultation mailbox needs the channel the notice applies through")
        return self


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


class CenterSource(_Strict):
    """A notice's own words that state a center's facts (its mailbox, telephone, address)."""

    notice: str
    clause: str
    quote: str


class Center(_Strict):
    """The office that owns one or more of the notices' mailboxes and answers the mail received there."""

    id: str
    name: str
    province: Literal["shanghai", "guangdong"]
    mailboxes: list[str]
    # The line under the signature of every mail sent in the center's name: items parted by "；", each item the
    # notice's own words.
    contact: str
    sources: list[CenterSource]

    @model_validator(mode="after")
    def _quoted(self) -> Center:
        """Every mailbox and every item of the contact line is a quote's own text (white space aside), so that no
        telephone or address reaches an applicant that its notice does not print."""
        quoted = "\n".join("".join(source.quote.split()) for source in self.sources)
        facts = [*self.mailboxes, *self.contact.split("；")]
        unquoted = [fact for fact in facts if "".join(fact.split()) not in quoted]
        if unquoted:
            raise ValueError(f"center {self.id}: not in its quotes: {', '.join(unquoted)}")
        return self

    def owns(self, address: str) -> bool:
        return address.strip().lower() in {mailbox.lower() for mailbox in self.mailboxes}


class _Centers(_Strict):
    centers: list[Center]


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

    def __init__(self, notices: Iterable[Notice], catalogs: dict[str, Catalog], centers: Iterable[Center] = ()) -> None:
        self.notices = tuple(sorted(notices, key=lambda notice: notice.date))
        self._catalogs = catalogs
        self.centers = tuple(centers)
        self._check_centers()

    def _check_centers(self) -> None:
        """Each center quotes notices that exist; each mailbox a notice names has exactly one owner."""
        if not self.centers:
            return
        ids = {notice.id for notice in self.notices}
        for center in self.centers:
            for source in center.sources:
                if source.notice not in ids:
                    raise ValueError(f"center {center.id}: no notice {source.notice}")
        for mailbox in self.mailboxes():
            owners = [center.id for center in self.centers if center.owns(mailbox)]
            if len(owners) != 1:
                raise ValueError(f"mailbox {mailbox}: {len(owners)} centers own it ({', '.join(owners)})")

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

    def center_of_mailbox(self, address: str) -> Center | None:
        """The center that owns ``address``, when it is one of the notices' mailboxes."""
        return next((center for center in self.centers if center.owns(address)), None)

    def center_of_track(self, track: Track | str) -> Center:
        """The center whose mailbox the track's newest notice names."""
        return self._owner(self.track_rules(track)[-1][1].mailbox)

    def voice(self, received_at: Iterable[str], track: Track | str | None = None) -> Center:
        """The center a mail is answered by: the owner of the mailbox that received it, whatever form it brought.

        Among several recipients the track's own mailbox wins (a mail sent to both centers is answered, where it
        is judged, by the center whose collection it is for), then the first mailbox a center owns. Where no
        receiving mailbox is known (loose files checked without ``--to``, a stored case without its envelope), the
        track's center answers, and without a track the first center of the data (Shanghai).
        """
        owners = [center for address in received_at if (center := self.center_of_mailbox(address))]
        if track is not None and str(track) in Track.__members__:
            own = self.center_of_track(track)
            if own in owners or not owners:
                return own
        if owners:
            return owners[0]
        return self.centers[0]

    def _owner(self, mailbox: str) -> Center:
        center = self.center_of_mailbox(mailbox)
        if center is None:
            raise KeyError(mailbox)
        return center

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


CENTERS_FILE = "centers.toml"
"""The owners of the notices' mailboxes (beside the notice files, and no notice itself)."""


@cache
def load_registry() -> Registry:
    """Read and validate every notice file shipped in ``zhengji/notices/data``."""
    data = resources.files("zhengji.notices").joinpath("data")
    notices = []
    for entry in sorted(data.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml") and entry.name != CENTERS_FILE:
            try:
                notices.append(Notice.model_validate(tomllib.loads(entry.read_text("utf-8"))))
            except ValueError as error:
                raise ValueError(f"notice file {entry.name}: {error}") from error
    catalogs = {notice.id: _read_catalog(notice) for notice in notices if notice.catalog}
    try:
        centers = _Centers.model_validate(tomllib.loads(data.joinpath(CENTERS_FILE).read_text("utf-8"))).centers
    except ValueError as error:
        raise ValueError(f"{CENTERS_FILE}: {error}") from error
    return Registry(notices, catalogs, centers)
