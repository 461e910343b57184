"""The forms' names as messages speak of them, one source for every part (checks, submission, reply).

The names come from the form data (``notices/data/forms``): Guangdong's 粤人社函〔2026〕159号 names its two
forms differently, and the letter's printed title is a template, so its data gives a name to repeat instead.
"""

from __future__ import annotations

from zhengji.notices.forms import form_specs
from zhengji.notices.registry import FormId

UNKNOWN_TITLE = "未识别的文件"
FORM_TITLES: dict[FormId, str] = {
    **{form: spec.title for form, spec in form_specs().items()},
    FormId.unknown: UNKNOWN_TITLE,
}


def form_title(form: FormId | str, province: str | None = None) -> str:
    """The form's name; Guangdong's own names when ``province`` is ``"guangdong"``."""
    spec = form_specs().get(FormId(form))
    return spec.title_for(province) if spec is not None else UNKNOWN_TITLE
