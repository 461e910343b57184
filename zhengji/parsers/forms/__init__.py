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
from zhengji.parsers.titles import FORM_TITLES, form_title

__all__ = ["FORM_TITLES", "classify", "extract", "form_title"]

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


def extract(form: FormId | str, layout: Layout) -> dict[str, Any]:
    """The contract's fields of ``layout`` read as ``form``; an ``unknown`` document has none."""
    target = _EXTRACTORS.get(FormId(form))
    if target is None:
        return {}
    module, name = target
    function: Callable[[Layout], dict[str, Any]] = getattr(import_module(module), name)
    return function(layout)
