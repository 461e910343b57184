"""What to send: each track's documents, their formats, stamp or signature, and where they go."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache

from zhengji.bot.answers.windows import track_name
from zhengji.bot.asof import answering, current, pin_for
from zhengji.bot.facts import track_facts
from zhengji.bot.faq import cite, load_faq, sources_for
from zhengji.bot.wording import joined, numbered
from zhengji.clock import SHANGHAI, shanghai_date
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
    """The notice that governs ``track`` on ``moment``'s day among those already issued (the current window's,
    else the latest issued one's, or the period's the question pinned: zhengji.bot.facts); before any notice of
    the track, its latest (only the mail path, which has a notice in hand, asks then)."""
    facts = track_facts(track, moment)
    if facts.notice is not None and facts.rule is not None:
        return facts.notice, facts.rule
    return load_registry().track_rules(track)[-1]


def _formats(document: DocumentRule) -> str:
    if not document.formats:
        return "通知未规定文件格式"
    names = [_FORMAT_NAMES[fmt] for fmt in document.formats]
    return f"须同时提交{joined(names)}" if len(names) > 1 else f"须提交{names[0]}"


def signing(document: DocumentRule) -> str:
    """Where and how a document is stamped or signed ("在“建议人（盖章或签字）”处盖章或签字"); empty when the
    notice names no signature line for it."""
    if not document.signature:
        return ""
    found = _INNER.search(document.signature)
    how = found.group(1) if found else "盖章或签字"
    if not how.startswith(("加盖", "盖章")):
        how = f"加盖{how.removesuffix('盖章')}公章"  # 单位盖章: 加盖单位公章
    return f"在“{document.signature}”处{how}"


def _signature(document: DocumentRule) -> str:
    where = signing(document)
    return f"，并{where}" if where else ""


def formats_text(document: DocumentRule) -> str:
    """The formats a document is sent in, as the materials list words them."""
    return _formats(document)


def document_line(notice: Notice, document: DocumentRule) -> str:
    optional = "" if document.required else "（如有，一并提交）"
    title = f"《{document.name}》（{notice.number}{document.attachment}）{optional}"
    return f"{title}：{_formats(document)}{_signature(document)}。"


def track_materials(track: Track, moment: datetime) -> str:
    if current() is None:
        # The mail path asks outside an answer: the list is still the day's, whatever a cached call saw.
        with answering(moment):
            return _track_materials(track, shanghai_date(moment), None)
    return _track_materials(track, shanghai_date(moment), pin_for(track))


@lru_cache(maxsize=256)
def _track_materials(track: Track, day: date, pin: str | None) -> str:
    """Which notice governs a track depends on the Shanghai date (and the period asked about) alone, so a day's
    list is composed once."""
    del pin  # part of the cache key: track_facts reads the pin itself
    noon = datetime.combine(day, time(12), tzinfo=SHANGHAI)
    if track_facts(track, noon).notice is None:
        return f"{track_name(track)}：目前尚无该征集事项的通知，暂不受理，请以通知发布后的安排为准。"
    notice, rule = governing_rule(track, noon)
    items = [document_line(notice, document) for document in rule.documents]
    items += [f"{material.name}。" for material in rule.materials]
    head = f"{track_name(track)}（{notice.number}）"
    text = f"{head}须提交以下材料：\n{numbered(items)}" if items else f"{head}：通知未规定须邮寄的表格。"
    notes = [
        cite(source)
        for topic_id in _NOTES.get(track, ())
        for source in sources_for(load_faq().topic(topic_id), [track])
        if track in source.tracks
    ]
    if not any(rule.mailbox in note for note in notes) or rule.mailbox_role == "consult":
        text += f"\n{mailbox_line(rule)}"  # the quoted clause names the mailbox itself: said once
    if rule.paper:
        # 159号 五（三）: the paper copy and where it goes, once (the clause below is quoted once too).
        text += f"\n另{rule.paper}。"
    for note in notes:
        text += f"\n{note}"
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
