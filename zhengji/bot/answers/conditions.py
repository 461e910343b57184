"""Conditions the notices put on who or what may apply (信用, 目录, 脱钩, 区人社推荐): "可以" only when the notices
say so for the case asked.

A can-we-apply answer judged on the window alone ("可以。…正在受理") is false for a body with a 失信 record or an
occupation outside 附件2. When a question names a condition (a topic of data/faq.toml marked ``condition``), the
notice's ruling answers it, with its clause; where no issued notice rules on the case for the tracks asked, the
answer quotes what the notices do say and names whom to ask, and never opens with 可以.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhengji.bot.answers.notices import contact_text
from zhengji.bot.faq import Source, Topic, cite, load_faq, sources_for
from zhengji.notices.registry import Track, load_registry

_ASKS_MAY = re.compile(
    r"吗|么|嘛|能不能|可不可以|可以不|行不行|是否|能否|可否|一定要|必须|得不得|要不要|需不需要|还能|还可以|能报|能申报"
)
_YES = re.compile(r"^(可以|是的|是|能|对|行|没问题)")


@dataclass(frozen=True)
class Condition:
    """A condition topic a question names, and the sources issued on the day that rule on the tracks asked."""

    topic: Topic
    rulings: tuple[Source, ...]
    said: tuple[Source, ...]


def conditions_in(text: str, tracks: list[Track]) -> list[Condition]:
    """The conditions ``text`` (normalized) names, each with the rulings that apply to the case asked."""
    found: list[Condition] = []
    faq = load_faq()
    for (topic, _), any_pattern in zip(faq.compiled, faq.combined, strict=True):
        if not topic.condition or not any_pattern.search(text):
            continue
        said = [source for source in sources_for(topic, tracks) if not tracks or set(source.tracks) & set(tracks)]
        rulings = [
            source
            for source in said
            if source.ruling and (not source.ruled_when or any(re.search(p, text) for p in source.ruled_when))
        ]
        found.append(Condition(topic, tuple(rulings), tuple(said)))
    return found


def asks_whether(text: str) -> bool:
    """Whether the message asks if something may (or must) be done: the kind of question a condition answers."""
    return bool(_ASKS_MAY.search(text))


def answer_conditions(conditions: list[Condition], region: str | None) -> str:
    """Each condition's ruling with its clause; where none rules on the case, what the notices say and whom
    to ask."""
    parts: list[str] = []
    for condition in conditions:
        if condition.rulings:
            parts += [f"{source.ruling}{cite(source)}" for source in condition.rulings]
            continue
        province = region or _province(condition.said)
        said = "\n".join(cite(source) for source in condition.said)
        head = f"通知对您所问的情形未作明确规定，无法答复“可以”。关于{condition.topic.title}，通知的规定如下：\n{said}"
        if not condition.said:
            head = f"通知对您所问的情形（{condition.topic.title}）未作规定，无法答复“可以”。"
        parts.append(f"{head}\n是否符合申报条件，请咨询{contact_text(province)}。")
    return "\n\n".join(dict.fromkeys(parts))


def says_yes(text: str) -> bool:
    """Whether an answer opens with a yes (可以, 是, 能)."""
    return bool(_YES.match(text))


def _province(sources: tuple[Source, ...]) -> str | None:
    provinces = {load_registry().notice(source.notice).province for source in sources}
    return provinces.pop() if len(provinces) == 1 else None
