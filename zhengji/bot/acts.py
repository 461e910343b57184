"""Question acts: what kind of answer a message asks for, read from the vocabulary file.

An act (may we send it now, where does it go, paper copies, who may apply, one field of a form, a subject the
notices are silent on, the 2024 collection, a comparison, whether the bot is a person) has a direct answer in
zhengji/bot/answers/direct.py. A message may hold several acts ("现在能交吗？要纸质版吗"): each is answered, in the
order asked. A message with none goes to the intent rules of zhengji/bot/understand.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhengji.bot.vocabulary import FieldSpec, SilentSpec, material_items, tracks_in, vocabulary
from zhengji.notices.registry import Material, Track

_PAPER_WORDS = re.compile(r"纸质|纸本|纸版|书面|打印")
_ELECTRONIC_WORDS = re.compile(r"电子|邮箱|邮件|word|pdf|系统")
_FORM_WORDS = re.compile(r"表|(?<!证)书|函|清单|方案|材料|附件")  # 证书 is no form


@dataclass(frozen=True)
class Act:
    """One act found in a message, where it was asked, and its slot (the field or the silent subject)."""

    id: str
    at: int
    field: FieldSpec | None = None
    silent: SilentSpec | None = None
    item: tuple[Track, Material] | None = None


def acts_in(text: str) -> list[Act]:
    """The acts ``text`` (normalized, typos repaired) asks, in the order asked; each act once."""
    words = vocabulary()
    found: list[Act] = []
    for act_id, pattern in words.acts:
        match = pattern.search(text)
        if match is None:
            continue
        if act_id == "silent":
            hit = next(((item, m) for item, p in words.silent if (m := p.search(text))), None)
            if hit is None:
                continue
            found.append(Act(act_id, hit[1].start(), silent=hit[0]))
        elif act_id == "item":
            plain = text
            for term in words.ignored[act_id]:
                plain = plain.replace(term, "\0" * len(term))
            named = set(tracks_in(text))
            # "考核机构要交营业执照吗" asks about 考核机构: another track's list is no answer to it.
            items = [(track, item) for track, item in material_items() if not named or track in named]
            item_hit = next(
                (((track, item), at) for track, item in items if (at := _first(plain, item.keywords)) >= 0),
                None,
            )
            if item_hit is None:
                continue
            found.append(Act(act_id, item_hit[1], item=item_hit[0]))
        elif act_id == "field":
            field = next(((item, m) for item, p in words.fields if (m := p.search(text))), None)
            if field is None:
                continue
            found.append(Act(act_id, field[1].start(), field=field[0]))
        else:
            found.append(Act(act_id, match.start()))
    ids = {act.id for act in found}
    if "identity" in ids:
        return [act for act in found if act.id == "identity"]
    if "history" in ids:
        found = [act for act in found if act.id != "issued"]  # 319号's own date is the history answer's
    if "history" in ids and "compare" not in ids:
        # 319号's own channel, formats and dates answer it: today's acts are another notice's.
        found = [act for act in found if act.id not in {"can_now", "channel", "who_may", "formats", "seal", "contents"}]
    if "compare" in ids and "history" not in ids:
        found = [act for act in found if act.id != "compare"]  # a comparison the bot knows is 319 beside 76
    if {"channel", "paper"} <= ids and not _PAPER_WORDS.search(text):
        found = [act for act in found if act.id != "paper"]  # "寄到哪里": where, and the answer names the post
    elif {"channel", "paper"} <= ids and not _ELECTRONIC_WORDS.search(text):
        found = [act for act in found if act.id != "channel"]  # "纸质版寄到哪里": the paper answer names the post
    if {"history", "compare"} <= ids:
        found = [act for act in found if act.id != "history"]
    if "visual" in ids:
        # "短视频资料怎么交": the visual materials' own clause answers how and where they go.
        found = [act for act in found if act.id != "channel" and (act.id != "paper" or _PAPER_WORDS.search(text))]
    if "filler" in ids and not _FORM_WORDS.search(text):
        # "备案回执由谁出具" asks who does something else: only a form's filler is this act's answer.
        found = [act for act in found if act.id != "filler"]
        ids.discard("filler")
    if "filler" in ids:
        found = [act for act in found if act.id not in {"who_may", "item"}]  # "汇总表是推荐单位填的吧"
    if "silent" in ids:
        # "纸质版要几份": the copies are the silent subject, not a question whether paper is needed.
        found = [act for act in found if act.id != "paper" or not _silent_copies(found)]
        # "电子签名可以吗": the kind of signature is the silent subject, not which documents are signed.
        found = [act for act in found if act.id != "seal" or not _silent_signature(found)]
        # "文件名有格式要求吗", "盖章后的PDF要不要彩色扫描": the silent subject is what is asked, not the formats or
        # the stamps the words also name.
        found = [act for act in found if act.id not in {"formats", "seal"}]
        # "个人申报要附身份证复印件吗": who applies is the setting; the silent subject is what is asked.
        found = [act for act in found if act.id != "who_may"]
    if {"seal", "paper"} <= ids and _PAPER_WORDS.search(text):
        found = [act for act in found if act.id != "seal"]  # "纸质版要盖章吗": the paper answer says how it is sealed
    if "seal" in ids and "filler" in ids:
        found = [act for act in found if act.id != "seal"]  # "推荐函由谁盖章填写"
    if "contents" in ids:
        found = [act for act in found if act.id not in {"item", "field"}]  # "建议书写哪些内容" asks the whole form
    return sorted(found, key=lambda act: act.at)


def _first(text: str, words: list[str]) -> int:
    """Where the first of ``words`` occurs in ``text``; -1 when none does."""
    return min((at for word in words if (at := text.find(word)) >= 0), default=-1)


def _silent_signature(found: list[Act]) -> bool:
    return any(act.silent is not None and "签" in act.silent.subject for act in found)


def _silent_copies(found: list[Act]) -> bool:
    return any(act.silent is not None and "份数" in act.silent.subject for act in found)
