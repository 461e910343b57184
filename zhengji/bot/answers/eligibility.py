"""Whether an occupation (工种) may be recommended: what the published catalog (76号 附件2) says of it, and the
notices' conditions, each with its notice and clause.

The catalog is all the bot knows of the 大典: a row there is a fact; a name not there is "not in the published
catalog", and whether it is in the 大典, has a national standard or is a 准入类 qualification is for the applicant
to check, never for the bot to guess.
"""

from __future__ import annotations

from zhengji.bot.answers.notices import contact_text
from zhengji.bot.asof import known
from zhengji.bot.catalog import CodeMention, NameMatch, catalog_index, display
from zhengji.bot.faq import cite, load_faq, sources_for
from zhengji.bot.understand import Understanding
from zhengji.bot.wording import levels_text
from zhengji.notices.registry import CatalogEntry, Track, load_registry

MAX_ROWS = 12
"""Rows listed for one occupation or 小类; the rest are counted."""
MAX_SUBJECTS = 3
"""Occupations answered in one message."""

_CATALOG_NOTICE = "sh-2025-76"
_MALFORMED = "不是《大典》职业编码的格式（职业编码如 4-04-05-05，所属领域填写到小类的如 4-04-05），请核对后重新发送。"


def _catalog_title() -> str:
    notice = load_registry().notice(_CATALOG_NOTICE)
    assert notice.catalog is not None
    return f"{notice.number}{notice.catalog.attachment}《{notice.catalog.title}》"


def _row(entry: CatalogEntry) -> str:
    grade = "专项职业能力" if entry.special_ability else f"等级：{levels_text(entry.levels)}"
    return f"{display(entry.name)}（职业编码 {entry.code}，目录第 {entry.seq} 项，{grade}）"


def _rows(entries: tuple[CatalogEntry, ...]) -> str:
    lines = [f"· {_row(entry)}" for entry in entries[:MAX_ROWS]]
    if len(entries) > MAX_ROWS:
        lines.append(f"· 另有 {len(entries) - MAX_ROWS} 项，请发送更具体的名称或编码查询。")
    return "\n".join(lines)


def _source(topic: str, track: Track) -> str:
    """The clause quoted; nothing when no notice issued on the answer's day answers it for ``track``."""
    sources = sources_for(load_faq().topic(topic), [track])
    return cite(sources[0]) if sources else ""


def listed(entries: tuple[CatalogEntry, ...]) -> str:
    """The rows found, as the catalog gives them."""
    return f"已在{_catalog_title()}中：\n{_rows(entries)}"


def _consequences(entries: list[CatalogEntry], found: Understanding) -> str:
    """What follows from the rows found, once for the whole answer, each with its notice and clause."""
    lines: list[str] = []
    if any(not entry.special_ability for entry in entries):
        lines.append(_source("listed_no_repeat", Track.skill_level_occupation))
        lines.append(
            f"符合条件的单位可申报承担其职业技能等级认定的社会培训评价组织，{_source('scope', Track.evaluator_org)}"
        )
    if any(entry.special_ability for entry in entries):
        lines.append("目录中标为“专项职业能力”的项目，其考核项目与考核机构按沪人社职〔2025〕140号征集。")
    if _asks_new(found):
        track = Track.gd_new_occupation if Track.gd_new_occupation in found.tracks else Track.new_occupation
        lines.append(f"目录中的职业（工种）均已收录于《大典》，不能作为新职业申报。{_source('scope', track)}")
    return "\n".join(lines)


def _asks_new(found: Understanding) -> bool:
    return Track.new_occupation in found.tracks or Track.gd_new_occupation in found.tracks


def _conditions(track: Track) -> str:
    return _source("scope", track)


def not_listed(what: str) -> str:
    """A name or code the catalog does not hold."""
    return f"{what}不在{_catalog_title()}中。"


def _unlisted_advice(found: Understanding) -> str:
    """The conditions an occupation outside the catalog must meet, and what the applicant must check."""
    lines = [
        f"如拟推荐为社会化职业技能等级认定职业（工种），须符合条件：{_conditions(Track.skill_level_occupation)}",
        f"如该职业尚未收录于《大典》，可按新职业征集申报：{_conditions(Track.new_occupation)}",
        "已发布目录之外的职业是否收录于《大典》、是否已颁布国家职业标准、是否属于准入类职业资格，我无法核实，请申报前自行核对。",
    ]
    return "\n".join(lines)


def _code_answer(mention: CodeMention) -> tuple[str, tuple[CatalogEntry, ...]]:
    index = catalog_index()
    typed = (
        ""
        if mention.typed.replace(" ", "") == mention.code
        else f"（您输入的“{mention.typed}”按《大典》编码格式读作 {mention.code}）"
    )
    if mention.parts == 3:
        rows = index.under(mention.code)
        if rows:
            return f"编码 {mention.code}{typed} 是一个小类，其下{listed(rows)}", rows
        return not_listed(f"小类 {mention.code}{typed} 下的职业（工种）"), ()
    rows = index.by_code(mention.code)
    if rows:
        return f"职业编码 {mention.code}{typed}：{listed(rows)}", rows
    return not_listed(f"职业编码 {mention.code}{typed}"), ()


def _name_answer(match: NameMatch) -> str:
    if match.exact:
        return f"“{match.label}”{listed(match.entries)}"
    return f"按“{match.label}”理解（您输入的是“{match.typed}”）：{listed(match.entries)}"


def _ambiguous(candidates: list[NameMatch]) -> str:
    labels = "、".join(f"“{candidate.label}”" for candidate in candidates)
    return f"“{candidates[0].typed}”与目录中的{labels}相近，请问您指的是哪一个？请发送完整名称或职业编码。"


def _code_and_name_disagree(found: Understanding) -> str:
    codes = {entry.code for match in found.names for entry in match.entries}
    typed = {mention.code for mention in found.codes if mention.parts == 4}
    if codes and typed and not codes & typed:
        return "请注意：您发送的职业编码与名称在目录中不对应，请核对编码与名称是否一致。"
    return ""


def answer_eligibility(found: Understanding) -> str:
    """Each occupation the message names (up to three), what follows from the catalog once, or the general
    conditions when it names none."""
    if not known(_CATALOG_NOTICE):
        # Before 76号's date its catalog (附件2) does not exist: no row of it is a fact yet.
        return "目前尚未发布社会培训评价组织征集遴选职业（工种）目录，无法查询某一职业（工种）是否已在目录中。\n" + (
            general_conditions(found.tracks, with_catalog=False)
        )
    parts: list[str] = []
    rows: list[CatalogEntry] = []
    unlisted = False
    named_codes = {entry.code for match in found.names for entry in match.entries}
    for mention in found.codes:
        if mention.code not in named_codes:
            text, found_rows = _code_answer(mention)
            parts.append(text)
            rows += found_rows
            unlisted = unlisted or not found_rows
    for match in found.names:
        parts.append(_name_answer(match))
        rows += match.entries
    parts += [_ambiguous(candidates) for candidates in found.ambiguous]
    parts += [f"“{typed}”{_MALFORMED}" for typed in found.malformed]
    for name in found.unfound:
        parts.append(not_listed(f"“{name}”"))
        unlisted = True
    if not parts:
        return general_conditions(found.tracks)
    shown = parts[:MAX_SUBJECTS]
    if len(parts) > MAX_SUBJECTS:
        shown.append(f"（一次最多答复 {MAX_SUBJECTS} 个职业，其余请分开询问。）")
    tail = [_consequences(rows, found) if rows else "", _unlisted_advice(found) if unlisted else ""]
    tail.append(_code_and_name_disagree(found))
    return "\n\n".join([*shown, *(line for line in tail if line)])


def general_conditions(tracks: list[Track], *, with_catalog: bool = True) -> str:
    """The conditions of the tracks asked about, with a hint to name an occupation. Organisations and
    institutions are judged as applicants (who may apply), occupations and projects by their scope."""
    chosen = [track for track in tracks if track in _SCOPE_TRACKS] or [
        Track.skill_level_occupation,
        Track.new_occupation,
    ]
    quotes = [_source("who_may_apply" if track in _APPLICANT_TRACKS else "scope", track) for track in chosen]
    lines = [f"{number}. {quote}" for number, quote in enumerate((quote for quote in quotes if quote), 1)]
    if not lines:
        return f"目前尚无相关征集通知，请以通知发布后的安排为准。请咨询{contact_text(None)}。"
    size = len(catalog_index().catalog)
    catalog = f"\n{_catalog_title()}共 {size} 项，可发送职业（工种）名称或编码查询某一职业是否已在其中。"
    return "申报条件以通知为准：\n" + "\n".join(lines) + (catalog if with_catalog else "")


_SCOPE_TRACKS = (
    Track.skill_level_occupation,
    Track.new_occupation,
    Track.gd_new_occupation,
    Track.special_ability_project,
    Track.evaluator_org,
    Track.special_ability_institution,
)
_APPLICANT_TRACKS = (Track.evaluator_org, Track.special_ability_institution)
