"""Which rules each form gets, in the order their findings are listed (Mailman's chains: a table, not if-chains).

Order within a form: what blocks reading the form (category), what is missing, what is too long or malformed,
what the catalog and the tag list say, then the signature and the fixed text.
"""

from __future__ import annotations

from zhengji.notices.registry import FormId
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.rules.catalog import AlreadyListed, CatalogAgreement
from zhengji.parsers.checks.rules.category import CategoryTicked, RequiredCategory
from zhengji.parsers.checks.rules.codes import DomainCodes, OccupationCodes
from zhengji.parsers.checks.rules.contact import DateValues, EmailValues, PhoneValues
from zhengji.parsers.checks.rules.credit_code import CreditCodes
from zhengji.parsers.checks.rules.fixed_paragraph import FixedParagraph
from zhengji.parsers.checks.rules.industry import IndustryTagRule
from zhengji.parsers.checks.rules.limits import ANALYSIS_LIMITS, LengthLimits
from zhengji.parsers.checks.rules.required import RequiredFields, RequiredRows, RequiredTasks
from zhengji.parsers.checks.rules.sections import OptionalSections
from zhengji.parsers.checks.rules.signature import Signed
from zhengji.parsers.checks.rules.weights import Weights

RULES_BY_FORM: dict[FormId, list[Rule]] = {
    FormId.new_occupation_proposal: [
        CategoryTicked(),
        RequiredCategory(),
        RequiredFields("name", "definition", "related_occupations", "industry"),
        RequiredTasks(),
        RequiredFields(*ANALYSIS_LIMITS, "contact.person", "contact.phone", "fill_date"),
        OptionalSections(),
        LengthLimits(ANALYSIS_LIMITS),
        PhoneValues("contact.phone", "employers[].phone", "training_orgs[].phone"),
        EmailValues("contact.email"),
        DateValues("fill_date"),
        Signed("signer"),
    ],
    FormId.new_occupation_summary: [
        RequiredFields("contact_person", "contact_phone"),
        RequiredRows(
            "rows",
            ("name", "proposer"),
            by_province={"guangdong": ("category", "name", "definition", "industry", "proposer", "contact")},
        ),
        PhoneValues("contact_phone"),
        DateValues("fill_date"),
        Signed("recommender"),
    ],
    FormId.skill_level_recommendation: [
        RequiredFields("contact_person", "contact_phone", "fill_date"),
        RequiredRows(
            "rows",
            (
                "code",
                "occupation",
                "standard_name",
                "standard_version",
                "shortage_listed",
                "industries",
                "estimated_count",
                "reason",
            ),
        ),
        OccupationCodes(),
        CatalogAgreement(),
        AlreadyListed(),
        IndustryTagRule(),
        PhoneValues("contact_phone", email_allowed=True),
        DateValues("fill_date"),
        Signed("recommender"),
    ],
    FormId.evaluator_recommendation_letter: [
        RequiredFields("applicant", "occupations", "fill_date"),
        DateValues("fill_date"),
        Signed("recommender"),
        FixedParagraph(),
    ],
    FormId.special_ability_summary: [
        RequiredFields("contact_person", "contact_phone"),
        RequiredRows(
            "rows",
            (
                "domain",
                "domain_code",
                "project",
                "industries",
                "institution",
                "credit_code",
                "estimated_count",
                "reason",
            ),
        ),
        DomainCodes(),
        IndustryTagRule(),
        CreditCodes(),
        PhoneValues("contact_phone"),
        DateValues("fill_date"),
        Signed("recommender"),
    ],
    FormId.special_ability_proposal: [
        RequiredFields("project_section", "institution_section"),
    ],
    FormId.special_ability_content: [
        RequiredFields("project", "definition", "ability_name", "domain"),
        RequiredRows("tasks", ("task", "norms", "knowledge", "weight")),
        Weights(),
    ],
    FormId.unknown: [],
}
