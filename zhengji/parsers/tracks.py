"""Which track a form belongs to, and which notice governs it at an instant."""

from __future__ import annotations

from datetime import datetime

from zhengji.notices.calendar import position
from zhengji.notices.registry import FormId, Notice, Registry, Track

_FORM_TRACK: dict[FormId, Track] = {
    FormId.new_occupation_proposal: Track.new_occupation,
    FormId.new_occupation_summary: Track.new_occupation,
    FormId.skill_level_recommendation: Track.skill_level_occupation,
    FormId.evaluator_recommendation_letter: Track.evaluator_org,
    FormId.special_ability_summary: Track.special_ability_project,
    FormId.special_ability_proposal: Track.special_ability_project,
    FormId.special_ability_content: Track.special_ability_project,
}


def track_of_form(form: FormId | str, province: str | None) -> Track | None:
    """The track a form is sent for; the 新职业 forms of Guangdong belong to Guangdong's own track."""
    track = _FORM_TRACK.get(FormId(form))
    if track is Track.new_occupation and province == "guangdong":
        return Track.gd_new_occupation
    return track


def governing_notice(track: Track, instant: datetime, registry: Registry) -> Notice:
    """The notice whose window holds ``instant`` or opens next; the newest one once every window has passed."""
    found = position(track, instant, registry).notice
    if found is not None:
        return found
    return registry.track_rules(track)[-1][0]
