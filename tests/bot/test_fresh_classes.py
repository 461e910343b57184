"""Issue 18, the classes the fresh table found unanswered: each rule asked in several wordings of our own.

English mixed into a question, status asked without 进度, subjects the notices are silent on, daily-life questions,
clauses of the notices no topic quoted yet, how a collection recurs, and a notice topic asked of a track whose
notice says nothing of it. The wordings are ours, not the table's: a rule must answer every question of its class.
"""

from __future__ import annotations

import pytest

from zhengji.bot.conversation import Chat
from zhengji.bot.core import Answer, Bot
from zhengji.bot.understand import Intent
from zhengji.clock import Clock, parse_instant

JUNE_2025 = "2025-06-21T10:00:00+08:00"  # 76号/77号 windows open (6-20…6-30)
JUNE_2026 = "2026-06-01T10:00:00+08:00"
JULY_2026 = "2026-07-20T10:00:00+08:00"  # 159号 issued (2026-06-02)
SILENT = "通知未作规定"
SHANGHAI_OFFICE = "yanfa312@126.com"


def _ask(now: str, *turns: str) -> Answer:
    bot = Bot(clock=Clock(parse_instant(now)))
    chat = Chat("web", "fresh-classes-chat-0000000")
    answers = [bot.answer(chat, turn) for turn in turns]
    return answers[-1]


# --- English and mixed questions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["When is the deadline for 新职业?", "新职业 deadline", "what's the closing date?"]
)
def test_an_english_deadline_question_gets_the_window(question: str) -> None:
    answer = _ask(JUNE_2025, question)
    assert answer.intents == (Intent.window,) and "6月30日" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "where should we send the 新职业 forms?",
        "新职业 materials, where to submit?",
        "where can we submit 新职业 forms?",
    ],
)
def test_an_english_where_question_gets_the_mailbox(question: str) -> None:
    answer = _ask(JUNE_2025, question)
    assert Intent.overview not in answer.intents
    assert "受理邮箱：yanfa312@126.com" in answer.text and "今天是" not in answer.text


def test_an_english_follow_up_keeps_the_chat_s_track() -> None:
    text = _ask(JULY_2026, "广东新职业材料交到哪里", "and the deadline?").text
    assert "2026年8月10日" in text and "不知道" not in text


@pytest.mark.parametrize("question", ["status of our application?", "any progress on my submission"])
def test_an_english_status_question_is_a_status_question(question: str) -> None:
    assert _ask(JUNE_2025, question).intents == (Intent.status,)


@pytest.mark.parametrize("question", ["thank you!", "ok thanks, bye", "好的 拜拜"])
def test_thanks_and_goodbye_are_answered_politely(question: str) -> None:
    assert _ask(JUNE_2025, question).text.startswith("不客气")


# --- status asked in other words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "我们单位的推荐表你们审没审",
        "上周交的材料看过没",
        "编号ZJ-2026-001234过了没有 麻烦说一下",
        "交上去两周了 没有任何动静",
    ],
)
def test_every_way_of_asking_how_far_it_got_is_status(question: str) -> None:
    assert _ask(JUNE_2025, question).intents == (Intent.status,)


def test_a_deadline_that_passed_is_no_status_question() -> None:
    assert Intent.status not in _ask(JUNE_2025, "新职业这期截止日期过了没有").intents


# --- the notices are silent -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "推荐表要不要加盖骑缝章",
        "个人申报要交身份证复印件吗",
        "一个协会最多可以推荐多少个项目",
        "自助经办系统的账户怎么注册",
        "落选的话会说明理由吗",
        "推荐函用电子章可以吗",
    ],
)
def test_a_subject_the_notices_are_silent_on_is_admitted(question: str) -> None:
    text = _ask(JUNE_2025, question).text
    assert text.startswith(SILENT) and SHANGHAI_OFFICE in text


@pytest.mark.parametrize("question", ["社评组织备案以后有没有资助", "新职业评审通过有补贴吗"])
def test_a_topic_the_track_s_own_notice_does_not_speak_of_is_silent(question: str) -> None:
    # 140号 and 159号 speak of subsidies; 76号 and 77号 do not: another notice's subsidy is no answer.
    text = _ask(JUNE_2025, question).text
    assert text.startswith(SILENT) and SHANGHAI_OFFICE in text
    assert "140号" not in text and "159号" not in text


@pytest.mark.parametrize("question", ["周末哪里好玩", "国庆去哪里旅游好"])
def test_a_daily_life_question_is_out_of_scope_not_silent(question: str) -> None:
    text = _ask(JUNE_2025, question).text
    assert "无法根据征集通知作答" in text and SILENT not in text


# --- clauses of the notices ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "facts"),
    [
        ("专项职业能力考核采用什么考核方式", ["理论知识", "操作技能"]),
        ("广东新职业优先征集哪些领域", ["低空经济", "康养托育"]),
        ("专项考核项目要侧重哪些领域", ["三大先导产业", "民生保障"]),
        ("考核项目立项需要谁批准", ["中国就业培训技术指导中心"]),
        ("备案的社评组织名单由哪个部门公布", ["市人力资源社会保障局"]),
        ("专项考核机构得配备什么人员", ["内部质量督导人员", "考评人员"]),
        ("广东省厅从哪些维度论证新职业", ["社会需求", "岗位创新", "可行性"]),
        ("社评组织申报要先找谁推荐", ["行业主管部门", "区人社"]),
        ("专项职业能力证书由谁来发", ["考核机构"]),
        ("广东报新职业要用问卷调查吗", ["问卷调查", "访谈座谈"]),
    ],
)
def test_a_clause_of_the_notices_answers_its_question(question: str, facts: list[str]) -> None:
    text = _ask(JULY_2026, question).text
    assert all(fact in text for fact in facts), text
    assert "不知道" not in text


def test_a_guangdong_city_unit_is_sent_to_its_city_bureau_not_to_an_industry_department() -> None:
    text = _ask(JULY_2026, "汕头的公司报新职业要先征求行业主管部门意见吗").text
    assert "所在地市人力资源社会保障部门" in text and "省属" in text


def test_319_s_own_clause_answers_a_question_about_319() -> None:
    text = _ask(JUNE_2025, "319号那次是谁作为推荐主体").text
    assert "319号" in text and "各区人社部门作为推荐主体" in text


# --- windows ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["77号是不是固定在每季度末月下旬受理", "新职业征集每年哪几个月受理"])
def test_how_a_collection_recurs_is_answered_with_its_rule(question: str) -> None:
    text = _ask(JUNE_2025, question).text
    assert "每年3月、6月、9月、12月的20日至30日" in text


@pytest.mark.parametrize("question", ["考核项目推荐8月可以交吗", "行业主管部门推荐专项项目 8月可以报吗"])
def test_a_month_named_is_answered_with_that_month_s_window(question: str) -> None:
    answer = _ask(JUNE_2026, question)
    assert answer.intents == (Intent.window,) and "8月20日" in answer.text


def test_an_evaluator_org_s_last_day_is_answered_with_the_window() -> None:
    text = _ask("2025-12-30T10:00:00+08:00", "社评组织系统申报是不是今天最后一天").text
    assert "12月30日" in text and "今天截止" in text


# --- typos of the notices' terms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "fact"),
    [("77号征集聚交哪些产业", "3+6"), ("专项考核是白分制吗", "百分制"), ("推荐表产叶标签怎么填", "3+6")],
)
def test_a_typo_of_a_notice_term_is_read_as_the_term(question: str, fact: str) -> None:
    assert fact in _ask(JUNE_2025, question).text
