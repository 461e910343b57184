"""The notices' forms: which one a document is, and its fields in the contract's keys.

``classify(layout)`` names the form; ``extract(form, layout)`` reads its fields; ``read(form, layout)`` reads
them and says which required fields could not be located (so that the checks report those to staff, not to
the applicant as blank). Each form's extractor lives in its own module and is imported when first needed, so
that a new form is a new module plus one line in ``_EXTRACTORS``, and a form module that fails to import
breaks only its own form. The labels every extractor looks for come from the form data (``notices/forms.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from zhengji.notices.forms import form_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import classify
from zhengji.parsers.model import Layout
from zhengji.parsers.titles import FORM_TITLES, form_title

__all__ = ["FORM_TITLES", "Reading", "classify", "extract", "form_title", "read"]

# form id → (module, function); the function takes a Layout and returns the contract's fields.
_EXTRACTORS: dict[FormId, tuple[str, str]] = {
    FormId.new_occupation_proposal: ("zhengji.parsers.forms.proposal", "read_proposal"),
    FormId.new_occupation_summary: ("zhengji.parsers.forms.summary", "extract_summary"),
    FormId.skill_level_recommendation: ("zhengji.parsers.forms.recommendation", "extract_recommendation"),
    FormId.evaluator_recommendation_letter: ("zhengji.parsers.forms.letter", "extract_letter"),
    FormId.special_ability_summary: ("zhengji.parsers.forms.special_ability", "extract_special_summary"),
    FormId.special_ability_proposal: ("zhengji.parsers.forms.special_ability", "extract_special_proposal"),
    FormId.special_ability_content: ("zhengji.parsers.forms.special_ability", "extract_special_content"),
}


@dataclass
class Reading:
    """A document's fields, and the required fields whose label or section it does not show."""

    fields: dict[str, Any]
    unlocated: list[str] = field(default_factory=list)


def read(form: FormId | str, layout: Layout) -> Reading:
    """The contract's fields of ``layout`` read as ``form``, with what could not be located; ``unknown`` has none.

    An extractor returns its fields, or (fields, unlocated) when it knows better than the generic search of
    :mod:`zhengji.parsers.forms.locate` where its labels stand (the 建议书 does); even then, a blank line field
    whose value place the form data's labels find filled is not located (``locate.confirm_blanks``).
    """
    form_id = FormId(form)
    target = _EXTRACTORS.get(form_id)
    spec = form_spec(form_id)
    if target is None or spec is None:
        return Reading({})
    module, name = target
    function: Callable[[Layout], Any] = getattr(import_module(module), name)
    result = function(layout)
    from zhengji.parsers.forms.locate import confirm_blanks, unlocated_paths

    if isinstance(result, tuple):
        fields, unlocated = result
        return Reading(fields, confirm_blanks(spec, layout, fields, unlocated))
    return Reading(result, unlocated_paths(spec, layout, result))


def extract(form: FormId | str, layout: Layout) -> dict[str, Any]:
    """The contract's fields of ``layout`` read as ``form``; an ``unknown`` document has none."""
    return read(form, layout).fields
