"""The forms' names as messages speak of them, one table for every part (checks, submission, reply)."""

from __future__ import annotations

from zhengji.notices.registry import FormId

FORM_TITLES: dict[FormId, str] = {
    FormId.new_occupation_proposal: "新职业信息建议书",
    FormId.new_occupation_summary: "新职业汇总表",
    FormId.skill_level_recommendation: "社会化职业技能等级认定职业（工种）推荐表",
    # The printed title is "关于推荐（申报单位全称）成为评价机构的函": a template, not a name to repeat.
    FormId.evaluator_recommendation_letter: "推荐成为评价机构的函",
    FormId.special_ability_summary: "专项职业能力考核项目及考核机构推荐汇总表",
    FormId.special_ability_proposal: "专项职业能力考核项目及考核机构建议书",
    FormId.special_ability_content: "主要考核内容",
    FormId.unknown: "未识别的文件",
}
# Guangdong's 粤人社函〔2026〕159号 names its two forms differently.
GUANGDONG_TITLES: dict[FormId, str] = {
    FormId.new_occupation_proposal: "新职业建议书",
    FormId.new_occupation_summary: "新职业信息汇总表",
}


def form_title(form: FormId | str, province: str | None = None) -> str:
    """The form's name; Guangdong's own names when ``province`` is ``"guangdong"``."""
    form_id = FormId(form)
    if province == "guangdong" and form_id in GUANGDONG_TITLES:
        return GUANGDONG_TITLES[form_id]
    return FORM_TITLES[form_id]
