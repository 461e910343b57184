"""What a check needs to know besides the fields: the notice, the province, the registry, the seal evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zhengji.notices.registry import Catalog, FormId, IndustryTags, Notice, Registry, load_registry
from zhengji.parsers.model import Severity

Province = Literal["shanghai", "guangdong"]


@dataclass(frozen=True)
class CheckContext:
    """The facts one document is checked against.

    ``optional_sections`` and ``sections_waived_for`` come from the track's ``DocumentRule`` (sections 三 to 八 of
    a 建议书: warnings in Shanghai, errors in Guangdong except for 调整变更). ``signed_elsewhere`` is set by the
    caller when the signature was found outside the fields — a seal picture on the WORD signature line or a red
    round seal on the PDF copy — so that a blank signer line is then no ``unsigned`` finding.
    """

    province: Province = "shanghai"
    notice: Notice | None = None
    registry: Registry = field(default_factory=load_registry)
    optional_sections: Severity = "warning"
    sections_waived_for: frozenset[str] = frozenset()
    signed_elsewhere: bool = False

    @classmethod
    def for_notice(
        cls, notice: Notice, form: FormId, registry: Registry | None = None, *, signed_elsewhere: bool = False
    ) -> CheckContext:
        """The context the notice's own rule for ``form`` implies (province, optional-section severity)."""
        severity: Severity = "warning"
        waived: frozenset[str] = frozenset()
        for track in notice.tracks:
            for document in track.documents:
                if document.form == form:
                    severity = document.optional_sections
                    waived = frozenset(document.sections_waived_for)
        return cls(
            province=notice.province,
            notice=notice,
            registry=registry or load_registry(),
            optional_sections=severity,
            sections_waived_for=waived,
            signed_elsewhere=signed_elsewhere,
        )

    def industry_tags(self, form: FormId) -> IndustryTags | None:
        """The tag list that governs ``form``: the notice's own, else the newest published one for the form."""
        if self.notice and self.notice.industry_tags and form in self.notice.industry_tags.forms:
            return self.notice.industry_tags
        candidates = [
            notice.industry_tags
            for notice in self.registry.notices
            if notice.industry_tags
            and form in notice.industry_tags.forms
            and notice.province == self.province
            and (self.notice is None or notice.date <= self.notice.date)
        ]
        return candidates[-1] if candidates else None

    def listing_catalog(self) -> tuple[Catalog, str] | None:
        """The catalog and its title for ``already_listed``: only under a notice on or after the catalog's notice."""
        if self.notice is None:
            return None
        current = self.notice
        published = [
            notice
            for notice in self.registry.notices
            if notice.catalog and notice.province == current.province and notice.date <= current.date
        ]
        if not published or published[-1].catalog is None:
            return None
        return self.registry.catalog(published[-1].id), published[-1].catalog.title

    def reference_catalog(self) -> Catalog | None:
        """Any published catalog, to see whether a code and an occupation name agree (the 大典 does not change)."""
        published = [notice for notice in self.registry.notices if notice.catalog]
        return self.registry.catalog(published[-1].id) if published else None
