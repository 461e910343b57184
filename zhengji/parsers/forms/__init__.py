"""The notices' forms: which one a document is, and its fields in the contract's keys.

``classify(layout)`` names the form; ``extract(form, layout)`` reads its fields. Each form's extractor lives in
its own module and is imported when first needed, so that a new form is a new module plus one line in
``_EXTRACTORS``, and a form module that fails to import breaks only its own form.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import classify
from zhengji.parsers.model import Layout

__all__ = ["FORM_TITLES", "classify", "extract", "form_title"]

# The forms' names as the notices print them, for messages ("附件《新职业信息建议书》缺少……").
FORM_TITLES: dict[FormId, str] = {
    FormId.new_occupation_proposal: "新职业信息建议书",
    FormId.new_occupation_summary: "新职业汇总表",
    FormId.skill_level_recommendation: "社会化职业技能等级认定职业（工种）推荐表",
    FormId.evaluator_recommendation_letter: "关于推荐（申报单位全称）成为评价机构的函",
    FormId.special_ability_summary: "专项职业能力考核项目及考核机构推荐汇总表",
    FormId.special_ability_proposal: "专项职业能力考核项目及考核机构建议书",
    FormId.special_ability_content: "专项职业能力考核项目主要考核内容",
    FormId.unknown: "未识别的文件",
}
# Guangdong's 粤人社函〔2026〕159号 names its two forms differently.
_GUANGDONG_TITLES: dict[FormId, str] = {
    FormId.new_occupation_proposal: "新职业建议书",
    FormId.new_occupation_summary: "新职业信息汇总表",
}

# form id → (module, function); the function takes a Layout and returns the contract's fields.
_EXTRACTORS: dict[FormId, tuple[str, str]] = {
    FormId.new_occupation_proposal: ("zhengji.parsers.forms.proposal", "extract_proposal"),
    FormId.new_occupation_summary: ("zhengji.parsers.forms.summary", "extract_summary"),
    FormId.skill_level_recommendation: ("zhengji.parsers.forms.recommendation", "extract_recommendation"),
    FormId.evaluator_recommendation_letter: ("zhengji.parsers.forms.letter", "extract_letter"),
    FormId.special_ability_summary: ("zhengji.parsers.forms.special_ability", "extract_special_summary"),
    FormId.special_ability_proposal: ("zhengji.parsers.forms.special_ability", "extract_special_proposal"),
    FormId.special_ability_content: ("zhengji.parsers.forms.special_ability", "extract_special_content"),
}


def form_title(form: FormId | str, province: str | None = None) -> str:
    """The form's printed name; Guangdong's own names when ``province`` is ``"guangdong"``."""
    form_id = FormId(form)
    if province == "guangdong" and form_id in _GUANGDONG_TITLES:
        return _GUANGDONG_TITLES[form_id]
    return FORM_TITLES[form_id]


def extract(form: FormId | str, layout: Layout) -> dict[str, Any]:
    """The contract's fields of ``layout`` read as ``form``; an ``unknown`` document has none."""
    target = _EXTRACTORS.get(FormId(form))
    if target is None:
        return {}
    module, name = target
    function: Callable[[Layout], dict[str, Any]] = getattr(import_module(module), name)
    return function(layout)
