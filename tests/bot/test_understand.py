"""Reading a message: codes however typed, references, traditional characters, names with typos, and what a
word boundary means for a short name."""

from __future__ import annotations

import pytest

from zhengji.bot.catalog import read_codes
from zhengji.bot.text import normalize
from zhengji.bot.understand import Intent, understand
from zhengji.notices.registry import Track


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("4-04-05-05", "4-04-05-05"),
        ("4-4-5-5", "4-04-05-05"),
        ("4.04.05.05", "4-04-05-05"),
        ("4 04 05 05", "4-04-05-05"),
        ("４－０４－０５－０５", "4-04-05-05"),
        ("4—04—05—05", "4-04-05-05"),
        ("4040505", "4-04-05-05"),
        ("编码4-04-05-z1是什么", "4-04-05-Z1"),
        ("4-04-05", "4-04-05"),
    ],
)
def test_codes_typed_loosely_are_read_in_the_dadian_form(typed: str, code: str) -> None:
    assert [mention.code for mention in read_codes(normalize(typed))] == [code]


@pytest.mark.parametrize("text", ["2025-06-20 截止吗", "电话18817418907", "020-83305821", "20日-30日", "第3.5项"])
def test_dates_and_phone_numbers_are_no_codes(text: str) -> None:
    assert read_codes(normalize(text)) == []


def test_references_are_read_however_typed() -> None:
    for typed in ("ZJ-2025Q2-7K3M9P", "zj-2025q2-7k3m9p", "zj2025q2 7k3m9p", "ＺＪ－２０２５Ｑ２－７Ｋ３Ｍ９Ｐ"):
        assert understand(f"绑定 {typed}").references == ["ZJ-2025Q2-7K3M9P"], typed


def test_traditional_and_full_width_text_is_read_as_simplified() -> None:
    assert normalize("請問電子商務師（網商）能報嗎？") == "请问电子商务师(网商)能报吗?"
    assert normalize("人工智慧訓練師") == "人工智能训练师"


def test_a_short_name_counts_only_as_a_word_of_its_own() -> None:
    assert [match.label for match in understand("车工能报吗").names] == ["车工"]
    found = understand("汽车工程师能报吗")
    assert found.names == [] and found.unfound == ["汽车工程师"]


def test_a_typo_is_read_as_the_name_it_is_close_to_and_says_so() -> None:
    [match] = understand("人工智能训连师能报吗").names
    assert match.label == "人工智能训练师" and not match.exact and match.typed == "人工智能训连师"


def test_a_name_close_to_several_is_asked_about() -> None:
    found = understand("人工智能可以申报吗")
    assert found.names == [] and len(found.ambiguous) == 1
    assert {candidate.label for candidate in found.ambiguous[0]} >= {"人工智能训练师", "人工智能数据标注"}


def test_commands_decide_the_intent() -> None:
    assert understand("/eligible@zhengji_bot 4-4-5-5").command is Intent.eligibility
    assert understand("/unbind").command is Intent.unlink
    assert understand("/nosuchcommand").command is Intent.help


def test_a_question_word_with_me_is_no_yes_no_particle() -> None:
    from zhengji.bot.answers.direct import YES_NO

    assert not YES_NO.search("319号是什么时候发的") and not YES_NO.search("怎么交")
    assert YES_NO.search("可以这么交么")


def test_the_special_ability_summary_is_no_new_occupation_form() -> None:
    from zhengji.bot.vocabulary import tracks_in

    assert Track.new_occupation not in tracks_in("专项职业能力考核项目推荐汇总表要盖章吗")
    assert tracks_in("职业工种推荐截止哪天") == [Track.skill_level_occupation]
