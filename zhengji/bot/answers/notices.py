"""The notices' other questions in their own words, the greeting and help, and the honest "I do not know"."""

from __future__ import annotations

import re

from zhengji.bot.asof import known
from zhengji.bot.faq import FaqMatch, cite, load_faq, sources_for
from zhengji.notices.registry import Track

MAX_SOURCES = 4
"""How many notices one answer quotes: enough for every track, short enough to read on a phone."""

HELP = (
    "您好，我是职业技能鉴定中心征集受理系统的咨询助手，可以根据各征集通知回答以下问题：\n"
    "1. 受理时间：如“新职业征集什么时候截止”；\n"
    "2. 申报条件：发送职业（工种）名称或编码，如“人工智能训练师能申报吗”“4-04-05-05”；\n"
    "3. 申报材料：如“专项职业能力考核项目要交哪些材料”；\n"
    "4. 通知中的其他规定：如联系方式、字数限制、合格分数、备案有效期、公示期；\n"
    "5. 申报进度：发送“绑定 申报编号”（编号见受理回复邮件，如 ZJ-2025Q2-7K3M9P），"
    "验证码将发送至该申报材料的发件邮箱，验证后即可查询进度，状态变化时也会通知您；发送“解绑”可取消。\n"
    "命令：/window 受理时间，/eligible 申报条件，/materials 申报材料，/bind 绑定，/status 进度，"
    "/unbind 解绑，/help 帮助。"
)
GREETING = "您好！请问有什么可以帮您？您可以询问受理时间、申报条件、申报材料，或发送“帮助”查看全部功能。"
THANKS = "不客气。如还有其他问题，欢迎随时咨询。"


def answer_faq(matches: list[FaqMatch], tracks: list[Track], text: str = "") -> str:
    """The best topic's answer from each notice that gives one (for the tracks asked about). With no track
    named, a notice whose quote holds the very words asked ("准入类") answers alone: the others say nothing of it."""
    topic = matches[0].topic
    sources = sources_for(topic, tracks)[:MAX_SOURCES]
    if not sources:
        return answer_unknown(None)
    if topic.by_words and not tracks and text and len(sources) > 1:
        words = [found.group(0) for pattern in topic.patterns if (found := re.search(pattern, text))]
        words = [word for word in words if len(word) >= 2]
        holding = [source for source in sources if any(word in "".join(source.quotes) for word in words)]
        sources = holding if 0 < len(holding) < len(sources) else sources
    if len(sources) == 1:
        return cite(sources[0])
    lines = [f"关于{topic.title}，各通知的规定如下："]
    lines += [f"{number}. {cite(source)}" for number, source in enumerate(sources, 1)]
    return "\n".join(lines)


def contact_text(province: str | None) -> str:
    """Where to ask: the office of the province asked about, or both offices."""
    # An office is one to ask once its notice is issued (zhengji.bot.asof): before 159号, Guangdong's is not.
    ours = [contact for contact in load_faq().contacts if province in (None, contact.province)]
    contacts = [contact for contact in ours if known(contact.notice)] or ours
    return "；".join(f"{contact.office}（{contact.text}）" for contact in contacts)


def answer_unknown(province: str | None) -> str:
    return (
        "这个问题我不知道，无法根据征集通知作答，也不便猜测。"
        f"请咨询{contact_text(province)}。"
        "我可以回答受理时间、申报条件、申报材料和申报进度等问题，发送“帮助”可查看示例。"
    )
