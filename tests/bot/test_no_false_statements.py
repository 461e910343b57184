"""Issue 18, fresh table: the bot never states something false.

1. A notice does not exist before its issue date: asked the day before any notice was issued, no answer names
   it, whatever the subject (a quote, the materials, the catalog, a window, a contact).
2. "可以" only when the notices say so for the case asked: a question that names a condition the notices rule on
   (信用, 目录, 脱钩, 区人社推荐) gets that ruling; where they do not rule on it, never a yes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from zhengji.bot.asof import answering, unknown_numbers
from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.faq import load_faq, sources_for
from zhengji.clock import SHANGHAI, Clock, parse_instant
from zhengji.notices.registry import Notice, load_registry

NOTICES = load_registry().notices
SUBJECTS = ["新职业", "职业工种征集", "社评组织", "专项考核项目", "专项考核机构", "广东新职业"]
ASKED = [
    "{}现在可以交吗",
    "{}要交哪些材料",
    "{}什么时候截止",
    "{}材料发到哪个邮箱",
    "{}需要纸质版吗",
    "{}谁可以申报",
    "{}推荐单位要提交啥",
    "{}要盖章吗",
    "{}联系电话多少",
    "{}逾期了还能交吗",
    "{}申报范围是什么",
    "{}的通知是什么时候发的",
]
"""Question acts and topics asked of every track, in an applicant's words."""


def _eve(notice: Notice) -> datetime:
    return datetime.combine(notice.date - timedelta(days=1), time(10), tzinfo=SHANGHAI)


def _ask(now: datetime | str, *turns: str) -> list[str]:
    moment = parse_instant(now) if isinstance(now, str) else now
    bot = Bot(clock=Clock(moment))
    chat = Chat("web", "no-false-statements-chat-0")
    return [bot.answer(chat, turn).text for turn in turns]


@pytest.mark.parametrize("notice", NOTICES, ids=lambda notice: notice.id)
def test_no_quote_of_a_notice_is_chosen_before_its_date(notice: Notice) -> None:
    """Where quotes are chosen: on the eve of its date, no topic offers a quote of the notice, for any track."""
    tracks = load_registry().tracks()
    with answering(_eve(notice)):
        offered = [
            (topic.id, source.notice)
            for topic in load_faq().topics
            for asked in ([], *([track] for track in tracks))
            for source in sources_for(topic, asked)
            if source.notice == notice.id
        ]
    assert offered == []


@pytest.mark.parametrize("template", ASKED)
@pytest.mark.parametrize("notice", NOTICES, ids=lambda notice: notice.id)
def test_no_answer_names_a_notice_before_its_date(notice: Notice, template: str) -> None:
    eve = _eve(notice)
    for subject in SUBJECTS:
        [text] = _ask(eve, template.format(subject))
        assert unknown_numbers(text, eve.date()) == [], (subject, text)


def test_a_2024_question_before_76_is_answered_from_319() -> None:
    [text] = _ask("2024-10-10T10:00:00+08:00", "2024年社会化认定职业征集 推荐单位要提交啥")
    assert "319号" in text and "推荐表" in text and "76号" not in text


def test_a_2024_question_asked_in_2025_is_still_answered_from_319() -> None:
    [text] = _ask("2025-06-21T10:00:00+08:00", "2024年社会化认定职业征集 推荐单位要提交啥")
    assert "319号" in text and "推荐表" in text and "76号" not in text


def test_between_319_and_76_the_materials_are_319s() -> None:
    [text] = _ask("2025-02-10T10:00:00+08:00", "职业工种征集要交哪些材料")
    assert "319号" in text and "76号" not in text


def test_a_follow_up_on_the_2024_collection_stays_with_319() -> None:
    _, second = _ask("2024-10-10T10:00:00+08:00", "2024年那次职业工种征集发哪个邮箱", "推荐单位那边要不要盖个章")
    assert "公章" in second and "319号" in second and "76号" not in second


def test_the_catalog_is_not_quoted_before_76() -> None:
    [text] = _ask("2024-10-10T10:00:00+08:00", "育婴员能申报吗")
    assert "76号" not in text and "尚未发布" in text


OPEN_SEPTEMBER = "2025-09-24T10:00:00+08:00"  # 76号's and 140号's September windows are open


@pytest.mark.parametrize(
    "question",
    [
        "我们单位被列入失信名单了，现在能申报考核机构吗",
        "专项考核机构申报单位有过不良行为记录，还可以报吗",
        "社评组织 申报单位征信有问题 能报吗",
    ],
)
def test_a_credit_record_is_ruled_on_not_waved_through(question: str) -> None:
    [text] = _ask(OPEN_SEPTEMBER, question)
    assert text.startswith("不可以。") and "社会信用良好" in text


@pytest.mark.parametrize(
    "question", ["想申报的工种在附件2里查不到，能申报社评组织吗", "目录外的职业可以申报社会培训评价组织吗"]
)
def test_an_occupation_outside_the_catalog_gets_no_evaluator_org(question: str) -> None:
    [text] = _ask(OPEN_SEPTEMBER, question)
    assert text.startswith("不可以。") and "目录" in text and "二、（二）" in text


def test_a_body_not_decoupled_from_government_may_not_apply() -> None:
    [text] = _ask(OPEN_SEPTEMBER, "还没和政府部门脱钩的协会，现在能报社评组织吗")
    assert text.startswith("不可以。") and "脱钩" in text


def test_the_district_recommendation_is_required() -> None:
    [text] = _ask(OPEN_SEPTEMBER, "考核机构必须要区人社推荐吗")
    assert text.startswith("须经所在区人社部门等推荐") and "140号" in text


@pytest.mark.parametrize("question", ["新职业征集 我们公司有失信记录 现在还能报吗", "已经脱钩的协会现在能报社评组织吗"])
def test_where_the_notices_do_not_rule_there_is_no_yes(question: str) -> None:
    [text] = _ask("2025-06-21T10:00:00+08:00", question)
    assert not text.startswith(("可以", "是", "能")) and "咨询" in text


@pytest.mark.parametrize(
    "question",
    [
        "这个工种都有三家社评组织了，我们还可以申报吗",
        "同一个职业已经有3家评价组织了 还能不能报",
        "评价项目超过三家了还能申报吗",
    ],
)
def test_a_full_evaluation_item_is_not_waved_through(question: str) -> None:
    """76号 二（二）: 社评组织一般不超过3家 per item: an open window is no "可以" for a fourth."""
    [text] = _ask(OPEN_SEPTEMBER, question)
    assert not text.startswith(("可以", "是", "能")) and "一般不超过3家" in text
