"""The forms' own Chinese labels, by field path, so that a message names what the applicant sees.

Paths are the contract's field keys; a list's columns are written ``list.column`` (``rows.code``,
``employers.phone``). The labels come from the form data (``notices/data/forms``), Guangdong's wording where
its 建议书 and 汇总表 print another label (职业（工种）名称 for 新职业名称).
"""

from __future__ import annotations

from functools import cache

from zhengji.notices.forms import form_specs
from zhengji.notices.registry import FormId
from zhengji.parsers.titles import form_title


@cache
def _labels(form: FormId, province: str) -> dict[str, str]:
    spec = form_specs().get(form)
    return dict(spec.labels(province)) if spec is not None else {}


def label(form: FormId, path: str, province: str = "shanghai") -> str:
    """The form's label for ``path``; the path itself if the data lacks it (a gap the tests catch)."""
    return _labels(form, province).get(path, path)


def has_label(form: FormId, path: str, province: str = "shanghai") -> bool:
    return label(form, path, province) != path


def form_name(form: FormId, province: str = "shanghai") -> str:
    return form_title(form, province)
