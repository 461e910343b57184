"""Issue 18, the questions nobody tuned on: the acts and facts the unseen table showed missing, asked in other
words than its own (stamps, formats, a form's contents, 319号's facts, the notices' field notes, more silences)."""

from __future__ import annotations

import pytest

from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.understand import THRESHOLD, Intent, understand
from zhengji.clock import Clock, parse_instant

AUGUST_2025 = "2025-08-15T10:00:00+08:00"
JULY_2026 = "2026-07-01T10:00:00+08:00"
OCTOBER_2024 = "2024-10-15T10:00:00+08:00"
SILENT = "通知未作规定"
LIMIT = 300


def _ask(now: str, *turns: str) -> list[str]:
    bot = Bot(clock=Clock(parse_instant(now)))
    chat = Chat("web", "unseen-test-chat-00000000")
    return [bot.answer(chat, turn).text for turn in turns]


def test_which_stamp_names_each_signature_line_and_the_paper_copy() -> None:
    [text] = _ask(JULY_2026, "深圳的单位 建议书盖哪个章")
    assert "申报单位/个人（盖章或签字）" in text and "纸质版材料须加盖单位公章或个人签名" in text
    assert "77号" not in text and len(text) <= LIMIT


def test_a_signature_instead_of_a_stamp_is_no_where_the_line_wants_a_stamp() -> None:
    [summary] = _ask(AUGUST_2025, "新职业汇总表能签字代替盖章吗")
    assert summary.startswith("不可以，须加盖公章。") and "推荐单位（加盖公章）" in summary
    [proposal] = _ask(AUGUST_2025, "新职业建议书签名可以吗")
    assert proposal.startswith("可以。") and "建议人（盖章或签字）" in proposal


def test_a_format_the_notice_does_not_ask_for_is_no() -> None:
    [pdf] = _ask(JULY_2026, "佛山的建议书发PDF行吗")
    assert pdf.startswith("不可以。") and "WORD版" in pdf
    [word_only] = _ask(AUGUST_2025, "职业工种推荐表只交word可以吗")
    assert word_only.startswith("不可以。") and "PDF版和WORD版" in word_only
    [electronic] = _ask(JULY_2026, "广州的新职业材料发电子版就可以了吧")
    assert electronic.startswith("不是，还须提交纸质版。")


def test_what_a_form_holds_is_its_sections_in_the_form_data() -> None:
    [text] = _ask(AUGUST_2025, "专项职业能力建议书包括哪些内容")
    assert "考核项目推荐情况" in text and "140号" in text and "新职业信息建议书" not in text


@pytest.mark.parametrize(
    ("question", "start", "facts"),
    [
        ("319号的推荐表发到哪个邮箱", "yanfa312@126.com。", ["2024年10月22日截止"]),
        ("319号是哪个省的文件", "上海。", ["上海市人力资源和社会保障局"]),
        ("319号依据什么文件", "", ["沪人社职〔2023〕345号", "沪人社职〔2024〕120号"]),
        ("319那次推荐表要交word吗", "是。", ["PDF版和WORD版"]),
        ("76号是不是取代了319号", "是。", ["3月、6月、9月、12月"]),
    ],
)
def test_319s_own_facts_answer_a_question_about_one_of_them(question: str, start: str, facts: list[str]) -> None:
    [text] = _ask(AUGUST_2025, question)
    assert text.startswith(start) and all(fact in text for fact in facts), text
    assert "新职业" not in text and len(text) <= LIMIT  # no list of today's tracks beside it


def test_the_days_left_of_319_while_it_ran() -> None:
    [text] = _ask(OCTOBER_2024, "319号还有几天截止")
    assert text.startswith("还剩 7 天")


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("建议书里职业定义写什么", "本质属性"),
        ("跟相关职业的关系那栏写什么", "编码"),
        ("推荐理由写啥好", "调研摸底"),
        ("主要考核内容用几号字", "小四号宋体"),
        ("专项考核机构的考核点要有什么设备", "视频监控"),
        ("新职业的法律法规情况写什么", "具体条款"),
        ("推荐表里的职业编码按什么填", "2022年版"),
        ("新职业名称有讲究吗", "组合名词"),
        ("新职业一年征集几次", "每季度集中征集 1 次"),
    ],
)
def test_the_notices_field_notes_answer_how_to_fill_a_field(question: str, fact: str) -> None:
    [text] = _ask(AUGUST_2025, question)
    assert fact in text and len(text) <= LIMIT, text


def test_an_occupation_without_a_national_standard_may_not_be_recommended() -> None:
    [text] = _ask(AUGUST_2025, "尚无国家职业标准的工种可以推荐吗")
    assert text.startswith("关于") or text.startswith("不可以")
    assert "不可以：推荐社会化职业技能等级认定的职业（工种）须已颁布相应的国家职业标准" in text


def test_a_body_of_the_government_is_told_the_exclusion_not_who_may_apply() -> None:
    [text] = _ask(AUGUST_2025, "没脱钩的行业协会可以报社评组织吗")
    assert "不予申报" in text and not text.startswith("可以")


def test_with_no_track_named_only_the_notice_that_says_the_words_asked_is_quoted() -> None:
    [text] = _ask(AUGUST_2025, "准入类的职业资格可以推荐吗")
    assert "准入类职业资格不纳入申报范围" in text and "77号" not in text and "159号" not in text


@pytest.mark.parametrize(
    "question",
    [
        "材料能拆成两封邮件发吗",
        "打包成zip发可以吗",
        "能不能加急处理",
        "用电子签章可以吗",
        "扫描件一定要彩色吗",
        "评审专家有哪些人",
        "申报材料可以用英文写吗",
        "发出去以后还能撤回吗",
    ],
)
def test_more_subjects_the_notices_leave_open_are_said_to_be_open(question: str) -> None:
    [text] = _ask(AUGUST_2025, question)
    assert text.startswith(SILENT) and "yanfa312@126.com" in text, text


def test_a_request_outside_the_desk_is_not_called_a_silence_of_the_notices() -> None:
    """A guard on the silent subjects' patterns (英文 is one): a request about English text is no question about
    what the notices leave open. It passes on the bot before issue 18's second round too; it fails if a silent
    pattern grows too wide."""
    [text] = _ask(AUGUST_2025, "帮我翻译一下这段英文")
    assert SILENT not in text


@pytest.mark.parametrize("question", ["专项项目推荐现在在受理吗", "可以加急审核吗"])
def test_asking_whether_a_window_is_open_or_about_speed_is_no_status_question(question: str) -> None:
    assert understand(question).scores.get(Intent.status, 0) < THRESHOLD


def test_a_window_open_question_names_the_window() -> None:
    [text] = _ask("2026-05-22T10:00:00+08:00", "专项项目推荐现在在受理吗")
    assert text.startswith("可以。") and "5月30日" in text


def test_a_mailbox_named_by_its_name_alone_is_checked() -> None:
    [text] = _ask(JULY_2026, "东莞的材料发yanfa312那个邮箱对吗")
    assert text.startswith("不是。") and "jnzx_zzyfk@gd.gov.cn" in text
    [before] = _ask(AUGUST_2025, "广东的新职业材料也发yanfa312那个邮箱吗")
    assert before.startswith("不是。") and "尚无" in before and "jnzx_zzyfk@gd.gov.cn" in before


def test_an_item_of_the_list_asked_whether_it_will_do_is_yes() -> None:
    _, text = _ask(AUGUST_2025, "社评组织交什么材料", "法人登记证书复印件行吗")
    assert text.startswith("可以。") and "法人登记证书复印件或营业执照复印件" in text


def test_a_second_part_with_a_duration_is_answered_too() -> None:
    [text] = _ask(AUGUST_2025, "社评组织要交几套样卷 通过机构评估后多久要完成项目评估")
    assert "2 套样卷" in text and "3个月" in text


def test_a_short_unanswerable_part_leans_on_the_part_before() -> None:
    [text] = _ask(AUGUST_2025, "产业类别能填多个吗 用什么分隔")
    assert "用“、”隔开" in text and "我不知道" not in text


def test_one_clause_is_quoted_once_when_two_acts_cite_it() -> None:
    [text] = _ask(AUGUST_2025, "职业工种推荐表是寄纸质的还是发邮箱")
    assert text.count("根据沪人社职〔2025〕76号（一、（三）2 推荐方式）") == 1


def test_a_when_question_about_every_track_is_one_short_line_each() -> None:
    [text] = _ask(AUGUST_2025, "什么时候截止")
    lines = [line for line in text.splitlines() if line[:2] in {f"{n}." for n in range(1, 7)}]
    assert len(lines) == 6 and all(len(line) <= 120 for line in lines), text
    assert len(text) <= 450 and "下一期尚未开始受理" not in text  # one fact a track, not three


def test_a_good_morning_is_a_greeting() -> None:
    [text] = _ask(AUGUST_2025, "早上好")
    assert text.startswith("您好")


def test_when_a_notice_was_issued_is_its_date_from_the_registry() -> None:
    [text] = _ask(AUGUST_2025, "140号是哪天印发的")
    assert text.startswith("2025年5月12日。") and "各征集事项" not in text
    [deadline] = _ask("2025-06-21T10:00:00+08:00", "职业工种推荐表最晚哪天发")
    assert "6月30日" in deadline and "印发" not in deadline


def test_an_item_is_looked_up_in_the_list_of_the_track_asked_about() -> None:
    [text] = _ask(AUGUST_2025, "专项考核机构申报要交营业执照吗")
    assert "社会培训评价组织" not in text


def test_a_question_about_when_results_come_gets_no_window_list() -> None:
    [text] = _ask(AUGUST_2025, "评审结果大概什么时候公布")
    assert text.startswith(SILENT) and "受理时间如下" not in text and len(text) <= LIMIT


def test_a_person_without_a_unit_is_told_whether_a_person_may_apply() -> None:
    [text] = _ask(AUGUST_2025, "我是个人 没有单位 可以申报新职业吗")
    assert text.startswith("可以。")


def test_a_bare_follow_up_asks_the_last_act_of_its_new_subject() -> None:
    _, text = _ask(AUGUST_2025, "新职业建议书要不要盖章", "那汇总表呢")
    assert text.startswith("《新职业汇总表》") and "推荐单位（加盖公章）" in text and "须提交以下材料" not in text


def test_the_selection_procedure_is_the_notices_steps() -> None:
    [text] = _ask(AUGUST_2025, "社评组织遴选的流程是什么")
    assert "机构评估、项目评估" in text and "现场考察" in text and len(text) <= LIMIT


def test_a_topic_no_notice_of_the_named_track_answers_is_not_answered_from_another() -> None:
    [text] = _ask(JULY_2026, "省属单位报新职业走什么流程")
    assert "76号" not in text and "省人力资源社会保障部门" in text


def test_years_in_business_is_a_subject_the_notices_leave_open() -> None:
    [text] = _ask(AUGUST_2025, "考核机构要成立几年以上")
    assert text.startswith(SILENT)


def test_a_channel_list_of_every_track_is_one_short_line_each() -> None:
    [text] = _ask(JULY_2026, "材料发到哪个邮箱")
    assert "jnzx_zzyfk@gd.gov.cn" in text and "510115" not in text and len(text) <= 400


def test_the_recommendation_letter_is_the_supervising_departments() -> None:
    [who] = _ask(AUGUST_2025, "推荐函是谁写")
    assert who.startswith("《关于推荐参与征集遴选社会培训评价组织的函》由申报单位的主管部门填写")
    [stamp] = _ask(AUGUST_2025, "推荐函要盖什么章")
    assert "主管部门（盖章）" in stamp and "自助经办系统" not in stamp


def test_before_its_notice_a_tracks_forms_are_not_called_unregulated() -> None:
    [text] = _ask(AUGUST_2025, "广东的电子版和纸质版都要盖章吗")
    assert SILENT not in text and "尚无" in text
