"""The applicant question tables of issue 18 and their scorer (benchmarks/bot_questions.py).

These test the measure, never the bot: the tables load and are fair to score (every class has enough questions,
the second table shares no question with the first, the third none with either, the fourth none with any earlier
table nor with tests/bot/questions.toml), and the scorer counts a made-up right and wrong reply as a person would.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path

import pytest

from benchmarks.bot_questions import (
    CLASSES,
    FAILED,
    TABLES,
    Question,
    TableError,
    load_table,
    normalise,
    score,
    tally,
)

MIN_PER_CLASS = 8


def _question(must: list[list[str]], must_not: tuple[str, ...] = ()) -> Question:
    return Question(
        "t", 1, "yes_no", ("社评组织直接发邮箱可以吗",), "2025-06-21T10:00:00+08:00", tuple(map(tuple, must)), must_not
    )


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_loads_with_every_class(name: str) -> None:
    questions = load_table(TABLES[name], name)
    counts = {klass: sum(question.klass == klass for question in questions) for klass in CLASSES}
    assert all(count >= MIN_PER_CLASS for count in counts.values()), counts
    assert all(question.must for question in questions)


def test_no_question_is_in_both_tables() -> None:
    def texts(name: str) -> set[str]:
        return {normalise(turn) for question in load_table(TABLES[name], name) for turn in question.turns}

    assert not texts("seen") & texts("unseen")


# The third table (issue 18: "written after the work, from questions the bot was never tuned on") asks for more:
# ten questions a class, business days over the four years the notices span, no message of the two earlier tables,
# not even a near copy of one, and each entry under a comment that names the clause its facts come from. The fourth
# table, written blind to the bot once the first three were tuned on, is held to the same, against all three earlier
# tables and the answering core's own questions (tests/bot/questions.toml).
FRESH_MIN_PER_CLASS = 10
FRESH_YEARS = {"2024", "2025", "2026", "2027"}
# Two messages this alike (difflib's ratio on normalised text) are taken for one question retyped: the second table
# has such a pair with the first (职业工种推荐表需要盖公章吗 / 职业工种推荐表要盖章吗, 0.92); the third table's
# closest message to an earlier one is 0.75 (the same 社评组织 condition asked the other way round), the fourth's 0.77
# (专项考核机构也是这几个月吗 / 专项考核机构申报这个月有吗, two different questions).
NEAR_COPY = 0.85
BLIND_TABLES = ("fresh", "fourth")
# The messages each blind table must not share, nor nearly copy: every table written before it.
EARLIER = {"fresh": ("seen", "unseen"), "fourth": ("seen", "unseen", "fresh", "questions")}
CORE_QUESTIONS = Path(__file__).with_name("questions.toml")


def _turns(name: str) -> set[str]:
    if name == "questions":
        data = tomllib.loads(CORE_QUESTIONS.read_text("utf-8"))
        texts = [entry["text"] for entry in data["questions"]]
        texts += [turn["text"] for conversation in data["conversations"] for turn in conversation["turns"]]
        return {normalise(text) for text in texts}
    return {normalise(turn) for question in load_table(TABLES[name], name) for turn in question.turns}


@pytest.mark.parametrize("name", BLIND_TABLES)
def test_blind_table_has_ten_questions_a_class_over_four_years(name: str) -> None:
    questions = load_table(TABLES[name], name)
    counts = {klass: sum(question.klass == klass for question in questions) for klass in CLASSES}
    assert all(count >= FRESH_MIN_PER_CLASS for count in counts.values()), counts
    assert {question.now[:4] for question in questions} == FRESH_YEARS


@pytest.mark.parametrize("name", BLIND_TABLES)
def test_blind_table_shares_no_message_with_the_earlier_tables(name: str) -> None:
    earlier = set().union(*(_turns(table) for table in EARLIER[name]))
    blind = _turns(name)
    assert not blind & earlier
    near = [
        (new, old) for new in blind for old in earlier if difflib.SequenceMatcher(None, new, old).ratio() >= NEAR_COPY
    ]
    assert not near


@pytest.mark.parametrize("name", BLIND_TABLES)
def test_every_blind_entry_cites_where_its_facts_come_from(name: str) -> None:
    before = TABLES[name].read_text("utf-8").split("[[questions]]")[:-1]
    assert len(before) == len(load_table(TABLES[name], name))
    uncited = [number for number, head in enumerate(before, start=1) if not re.search(r"\n# [^\n]+\n$", head)]
    assert not uncited


# A fact that the question itself holds proves nothing: a reply that only repeats the message (with words every
# reply of the center holds, among them 技能 and 能力, which an unanchored 能 or 可以 would take for a yes) must not
# count as right. The three earlier tables were written without this check and fail it here and there.
ECHO_FILLER = "关于职业技能等级认定、专项职业能力考核和技能人才评价，请以通知为准。"


def test_no_fourth_entry_is_answered_by_repeating_its_question() -> None:
    echoed = []
    for question in load_table(TABLES["fourth"], "fourth"):
        message = "\n".join(question.turns)
        for reply in (message, f"{message}\n{ECHO_FILLER}", f"{ECHO_FILLER}\n{message}"):
            if score(question, reply).outcome == "right":
                echoed.append(question.label)
                break
    assert not echoed


def test_a_right_reply_is_counted_right() -> None:
    question = _question([["不可以", "不能"], ["自助经办系统"]], ("re:受理邮箱:?yanfa312",))
    reply = (
        "不可以。社评组织通过上海市人力资源和社会保障 自助经办系统 申报；yanfa312@126.com 是咨询邮箱，不是受理邮箱。"
    )
    assert score(question, reply).outcome == "right"


def test_a_false_statement_is_counted_false_even_beside_the_facts() -> None:
    question = _question([["不可以", "不能"], ["自助经办系统"]], ("re:受理邮箱:?yanfa312",))
    verdict = score(question, "不能。请通过自助经办系统申报。受理邮箱：YANFA312@126.com")
    assert verdict.outcome == "false"
    assert verdict.false_statements == ("re:受理邮箱:?yanfa312",)


def test_missing_facts_make_an_incomplete_reply_or_a_non_answer() -> None:
    question = _question([["不可以", "不能"], ["自助经办系统"]])
    incomplete = score(question, "不能直接发邮箱。")
    assert incomplete.outcome == "incomplete"
    assert incomplete.missing == (("自助经办系统",),)
    assert score(question, "这个问题我不知道。").outcome == "non_answer"


def test_a_regular_expression_tells_yes_from_no() -> None:
    question = _question([["re:(?<!不)可以"]])
    assert score(question, "可以，现在正在受理。").outcome == "right"
    assert score(question, "不可以。").outcome == "non_answer"


def test_full_width_forms_and_spaces_do_not_hide_a_fact() -> None:
    question = _question([["6月30日"], ["100%"], ["pdf"]])
    assert score(question, "截止 6 月 30 日；比重合计１００％；须提交 PDF 版。").outcome == "right"


def test_the_tally_counts_by_class_and_in_all() -> None:
    question = _question([["可以"]])
    results = [
        (question, "可以", score(question, "可以")),
        (question, "不知道", score(question, "不知道")),
        (question, f"{FAILED}boom", score(question, f"{FAILED}boom")),
    ]
    tallies = tally(results)
    assert list(tallies) == ["yes_no", "all"]
    assert tallies["all"].asked == 3
    assert tallies["all"].outcomes["right"] == 1
    assert tallies["all"].outcomes["non_answer"] == 2
    assert tallies["all"].errors == 1


def test_a_table_entry_without_facts_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.toml"
    table.write_text('[[questions]]\nclass = "yes_no"\ntext = "可以吗"\nmust = []\n', "utf-8")
    with pytest.raises(TableError, match="at least one fact"):
        load_table(table)


def test_a_table_wide_false_statement_applies_to_every_question(tmp_path: Path) -> None:
    table = tmp_path / "t.toml"
    table.write_text(
        'must_not = ["受理邮箱"]\n[[questions]]\nclass = "where"\ntext = "发哪"\nmust = [["yanfa312@126.com"]]\n',
        "utf-8",
    )
    (question,) = load_table(table)
    assert score(question, "受理邮箱 yanfa312@126.com").outcome == "false"
