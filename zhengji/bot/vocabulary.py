"""The words the bot understands, as data: the notices' terms, the question words around a name, the tracks.

Kept apart from the code so that a clerk's new phrasing is a line here, not a new branch.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from zhengji.notices.registry import Material, Track, load_registry

# Words around an occupation's name in a question: what is left when they are removed is the name asked about.
STOP_WORDS = frozenset(
    """
    请问 问问 问一下 想问 想 问 一下 我 我们 我司 我们单位 单位 公司 你好 您好 你们 您 老师
    麻烦 谢谢 请 能 能不能 能否 可以 可不可以 可否 是否 是不是 不是 是 算 算不算 属于 属不属于
    有 没有 有没有 在 不在 报 申报 申请 推荐 报名 参加 认定 评价 鉴定 考 考核 纳入 收录 列入
    进入 入 做 开展 搞 吗 呢 啊 呀 吧 么 嘛 哈 哦 的 了 着 过 和 与 及 或 或者 还 也
    都 就 又 再 那 那么 这 这个 那个 该 此 其 目录 名单 清单 里 里面 中 之中 内 上 下
    里头 职业 工种 岗位 项目 等级 级别 几级 哪些 哪几 哪个 什么 啥 怎么 怎样 如何 为什么 多少
    几 个 种 类 吗? 呢? 已经 已 现在 目前 今年 明年 还能 还可以 要 需要 需不需要 社会化
    职业技能 技能 等级认定 社评组织 社会培训评价组织 评价组织 机构 组织 证 证书 资格 上海 上海市
    广东 广东省 本市 我市 全市 新 的话 情况 条件 要求 范围 符合 相关 有关 方面 之类 这类 类似
    一类 个人 单位 企业 人员
    """.split()  # noqa: SIM905 - a list of words reads best as words
)

# Which track a question is about. Order matters only for reading: every pattern is tried.
TRACK_PATTERNS: tuple[tuple[Track, re.Pattern[str]], ...] = (
    (Track.gd_new_occupation, re.compile(r"广东|粤|广州|省厅|159号|地市|新工种|调整变更")),
    (Track.new_occupation, re.compile(r"新职业|77号|建议书|(?<!推荐)汇总表|未收录")),
    # "社会化认定职业推荐", "认定职业": the skill-level collection however it is shortened.
    (
        Track.skill_level_occupation,
        re.compile(
            r"等级认定职业|职业\(工种\)征集|推荐表|319号|推荐职业|推荐.{0,6}(职业|工种)|(?<!新)(职业|工种).{0,4}征集|(?<!新)职业工种推荐"
            r"|(?<!新)认定职业|社会化认定"
        ),
    ),
    (Track.evaluator_org, re.compile(r"社评组织|社会培训评价组织|评价组织|评价机构|推荐函|社评")),
    (
        Track.special_ability_project,
        re.compile(
            r"专项职业能力|专项能力|考核项目|140号|主要考核内容|推荐汇总表|专项(考核)?项目|专项考核(?!机构)|专项.{0,4}(汇总表|建议书)"
        ),
    ),
    (Track.special_ability_institution, re.compile(r"考核机构|机构申报")),
)
# "专项职业能力" alone names both of its tracks; a question about institutions names only theirs.
_SPECIAL = (Track.special_ability_project, Track.special_ability_institution)

PROVINCE_GUANGDONG = re.compile(r"广东|粤|广州|省厅|地市")
PROVINCE_SHANGHAI = re.compile(r"上海|沪|市职鉴|本市|我市")


def tracks_in(text: str) -> list[Track]:
    """The tracks ``text`` (normalized) names, in the registry's order."""
    found = [track for track, pattern in TRACK_PATTERNS if pattern.search(text)]
    institutions_only = re.search(r"考核机构|机构申报", text) and not re.search(
        r"考核项目|项目推荐|推荐汇总表|主要考核内容", text
    )
    if Track.special_ability_project in found and institutions_only:
        found.remove(Track.special_ability_project)
    if Track.special_ability_institution in found and Track.special_ability_project not in found:
        return [track for track in Track if track in found]
    generic = not re.search(r"新职业|77号|未收录", text)
    others = [track for track in found if track not in {Track.new_occupation, Track.gd_new_occupation}]
    if Track.new_occupation in found and generic and others:
        found.remove(Track.new_occupation)  # "专项项目的建议书": 建议书 and 汇总表 are the named track's forms
    if Track.gd_new_occupation in found and Track.new_occupation in found and not PROVINCE_SHANGHAI.search(text):
        found.remove(Track.new_occupation)  # 广东的新职业 is one track, not two
    occupations_too = re.search(r"推荐表|职业\(工种\)征集|推荐.{0,6}(职业|工种)", text)
    if Track.evaluator_org in found and Track.skill_level_occupation in found and not occupations_too:
        found.remove(Track.skill_level_occupation)
    return [track for track in Track if track in found]


def special_tracks() -> tuple[Track, ...]:
    return _SPECIAL


# --- the vocabulary file (data/vocabulary.toml): acts, silent subjects, fields, places, typos ---------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActSpec(_Strict):
    id: str
    patterns: list[str]
    ignore: list[str] = []  # terms that hold the act's words without asking it (统一社会信用代码 for 信用)
    # faq.toml topics that answer better when the question asks them (未脱钩的协会 asks the exclusion, not who
    # may apply): the act is dropped when the question's best topic is one of these.
    unless_topics: list[str] = []


class SilentSpec(_Strict):
    subject: str
    patterns: list[str]


class FieldSpec(_Strict):
    form: str
    field: str
    what: Literal["limit", "limits", "weights", "rows", "category"]
    patterns: list[str]


class RegionSpec(_Strict):
    names: list[str]


class TyposSpec(_Strict):
    terms: list[str]
    keep: list[str]


class StatusSpec(_Strict):
    weight: float
    patterns: list[str]


class RuleSpec(_Strict):
    intent: str
    weight: float
    pattern: str


class SegmenterSpec(_Strict):
    terms: list[str]


class EnglishSpec(_Strict):
    """An English wording and the Chinese words every rule of the bot is written in."""

    pattern: str
    words: str


class VocabularyFile(_Strict):
    acts: list[ActSpec]
    rules: list[RuleSpec]
    segmenter: SegmenterSpec
    status: StatusSpec
    silent: list[SilentSpec]
    fields: list[FieldSpec]
    regions: dict[Literal["guangdong", "shanghai", "elsewhere"], RegionSpec]
    typos: TyposSpec
    english: list[EnglishSpec] = []


@dataclass(frozen=True)
class Vocabulary:
    """The vocabulary file with its patterns compiled once."""

    spec: VocabularyFile
    acts: tuple[tuple[str, re.Pattern[str]], ...]
    silent: tuple[tuple[SilentSpec, re.Pattern[str]], ...]
    fields: tuple[tuple[FieldSpec, re.Pattern[str]], ...]
    regions: tuple[tuple[str, re.Pattern[str]], ...]
    status: re.Pattern[str]
    elsewhere: re.Pattern[str]
    english: tuple[tuple[re.Pattern[str], str], ...] = ()

    @property
    def ignored(self) -> dict[str, list[str]]:
        return {act.id: act.ignore for act in self.spec.acts}

    @property
    def yields_to(self) -> dict[str, frozenset[str]]:
        """For each act, the faq topics that answer a question better than the act does."""
        return {act.id: frozenset(act.unless_topics) for act in self.spec.acts}


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns) or r"(?!)")


@cache
def vocabulary() -> Vocabulary:
    """Read and compile ``data/vocabulary.toml``; a bad pattern or key stops start-up, as the notice data does."""
    text = resources.files("zhengji.bot").joinpath("data", "vocabulary.toml").read_text("utf-8")
    spec = VocabularyFile.model_validate(tomllib.loads(text))
    silent = tuple((item, _any(item.patterns)) for item in spec.silent)
    fields = tuple((item, _any(item.patterns)) for item in spec.fields)
    acts: list[tuple[str, re.Pattern[str]]] = []
    for act in spec.acts:
        patterns = list(act.patterns)
        if act.id == "silent":
            patterns += [pattern for item in spec.silent for pattern in item.patterns]
        if act.id == "field":
            patterns += [pattern for item in spec.fields for pattern in item.patterns]
        if act.id == "item":
            patterns += [re.escape(word) for _, material in material_items() for word in material.keywords]
        acts.append((act.id, _any(patterns)))
    regions = tuple((region, _names(item.names)) for region, item in spec.regions.items() if region != "elsewhere")
    elsewhere = _names(spec.regions["elsewhere"].names) if "elsewhere" in spec.regions else re.compile(r"(?!)")
    english = tuple((re.compile(item.pattern), item.words) for item in spec.english)
    return Vocabulary(spec, tuple(acts), silent, fields, regions, _any(spec.status.patterns), elsewhere, english)


def in_chinese(text: str) -> str:
    """``text`` (normalized) with its English wordings put in the Chinese every rule is written in: applicants
    in Guangdong and Shanghai mix English into a question ("where to send 新职业 materials?", "status pls"), and
    one glossary is cheaper and more honest than a second set of rules in English."""
    if not any("a" <= char <= "z" for char in text):
        return text
    for pattern, words in vocabulary().english:
        text = pattern.sub(words, text)
    return re.sub(r"\s+", " ", text).strip()


def _names(names: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))


@cache
def material_items() -> tuple[tuple[Track, Material], ...]:
    """Every item of a track's material list in the notice registry (76号 二、（四）1), with its track: the words
    that name an item are the registry's keywords, not a second list here."""
    registry = load_registry()
    return tuple(
        (track, material) for track in registry.tracks() for material in registry.track_rules(track)[-1][1].materials
    )


def region_in(text: str) -> tuple[str | None, str | None]:
    """The province a question's place names say (a Guangdong city or 省属, a Shanghai district) and the place
    as typed; (None, None) when it names none, or places of both."""
    found = [(region, match.group(0)) for region, pattern in vocabulary().regions if (match := pattern.search(text))]
    return found[0] if len(found) == 1 else (None, None)


def elsewhere_in(text: str) -> bool:
    """Whether ``text`` places the asker in a province neither center serves ("在江苏注册的公司"), and names no
    place of either: such a unit is no "本市依法登记" 法人 (76号 二（一）, 140号 二（二）)."""
    return bool(vocabulary().elsewhere.search(text)) and region_in(text) == (None, None)
