"""What to send: each track's documents, their formats, stamp or signature, and where they go."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache

from zhengji.bot.answers.windows import track_name
from zhengji.bot.faq import cite, load_faq, sources_for
from zhengji.bot.wording import joined, numbered
from zhengji.clock import SHANGHAI, shanghai_date
from zhengji.notices.calendar import position
from zhengji.notices.registry import DocumentRule, Notice, Track, TrackRule, load_registry

_FORMAT_NAMES = {"pdf": "PDF版", "word": "WORD版"}
_INNER = re.compile(r"（([^（）]+)）")
# Notes in the notices' own words that belong with a track's list (topic ids of data/faq.toml).
_NOTES: dict[Track, tuple[str, ...]] = {
    Track.gd_new_occupation: ("how_to_submit",),
    Track.evaluator_org: ("how_to_submit",),
    Track.special_ability_institution: ("how_to_submit",),
    Track.new_occupation: ("how_to_submit",),
    Track.skill_level_occupation: ("how_to_submit",),
    Track.special_ability_project: ("how_to_submit",),
}


def governing_rule(track: Track, moment: datetime) -> tuple[Notice, TrackRule]:
    """The notice that governs ``track`` now (the current window's, else the next one's, else the latest)."""
    registry = load_registry()
    rules = registry.track_rules(track)
    pos = position(track, moment, registry)
    if pos.notice is not None:
        for notice, rule in rules:
            if notice.id == pos.notice.id:
                return notice, rule
    return rules[-1]


def _formats(document: DocumentRule) -> str:
    if not document.formats:
        return "通知未规定文件格式"
    names = [_FORMAT_NAMES[fmt] for fmt in document.formats]
    return f"须同时提交{joined(names)}" if len(names) > 1 else f"须提交{names[0]}"


def _signature(document: DocumentRule) -> str:
    if not document.signature:
        return ""
    found = _INNER.search(document.signature)
    how = found.group(1) if found else "盖章或签字"
    if not how.startswith(("加盖", "盖章")):
        how = f"加盖{how.removesuffix('盖章')}公章"  # 单位盖章: 加盖单位公章
    return f"，并在“{document.signature}”处{how}"


def document_line(notice: Notice, document: DocumentRule) -> str:
    optional = "" if document.required else "（如有，一并提交）"
    title = f"《{document.name}》（{notice.number}{document.attachment}）{optional}"
    return f"{title}：{_formats(document)}{_signature(document)}。"


def track_materials(track: Track, moment: datetime) -> str:
    return _track_materials(track, shanghai_date(moment))


@lru_cache(maxsize=256)
def _track_materials(track: Track, day: date) -> str:
    """Which notice governs a track depends on the Shanghai date alone, so a day's list is composed once."""
    notice, rule = governing_rule(track, datetime.combine(day, time(12), tzinfo=SHANGHAI))
    items = [document_line(notice, document) for document in rule.documents]
    items += [f"{material.name}。" for material in rule.materials]
    head = f"{track_name(track)}（{notice.number}）"
    text = f"{head}须提交以下材料：\n{numbered(items)}" if items else f"{head}：通知未规定须邮寄的表格。"
    text += f"\n{mailbox_line(rule)}"
    if rule.paper:
        # 159号 五（三）: the paper copy and where it goes, once (the clause below is quoted once too).
        text += f"\n另{rule.paper}。"
    faq = load_faq()
    for topic_id in _NOTES.get(track, ()):
        for source in sources_for(faq.topic(topic_id), [track]):
            if track in source.tracks:
                text += f"\n{cite(source)}"
    return text


def mailbox_line(rule: TrackRule) -> str:
    """Where the track's materials go. A consultation mailbox (76号 二、（四）4, 140号 三、（一）3) is never called
    the place to apply: those tracks apply through the channel their notice names."""
    if rule.mailbox_role == "consult" and rule.channel:
        return f"申报渠道：{rule.channel}（{rule.mailbox}为咨询邮箱，不受理申报材料）。"
    return f"受理邮箱：{rule.mailbox}。"


def answer_materials(tracks: list[Track], moment: datetime) -> str:
    """The materials of ``tracks``; with no track named, the bot asks which one (the lists differ a lot)."""
    if not tracks:
        registry = load_registry()
        names = "\n".join(
            f"· {track_name(track)}：{mailbox_line(registry.track_rules(track)[-1][1]).rstrip('。')}"
            for track in registry.tracks()
        )
        return (
            "不同征集事项须提交的材料不同，请告诉我您要申报哪一项，例如“新职业征集要交哪些材料”。"
            f"各征集事项的申报渠道如下：\n{names}"
        )
    return "\n\n".join(track_materials(track, moment) for track in tracks)
