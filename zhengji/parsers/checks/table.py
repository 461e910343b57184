"""Which rules each form gets, in the order their findings are listed (Mailman's chains: a table, not if-chains).

Order within a form: what blocks reading the form (category), what is missing, what is too long or malformed,
what the catalog and the tag list say, then the signature and the fixed text.
"""

from __future__ import annotations

from zhengji.notices.forms import require_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.rules.catalog import AlreadyListed, CatalogAgreement
from zhengji.parsers.checks.rules.category import CategoryTicked, RequiredCategory
from zhengji.parsers.checks.rules.codes import DomainCodes, OccupationCodes
from zhengji.parsers.checks.rules.contact import DateValues, EmailValues, PhoneValues
from zhengji.parsers.checks.rules.credit_code import CreditCodes
from zhengji.parsers.checks.rules.fixed_paragraph import FixedParagraph
from zhengji.parsers.checks.rules.industry import IndustryTagRule
from zhengji.parsers.checks.rules.limits import LengthLimits
from zhengji.parsers.checks.rules.required import RequiredFields, RequiredRows, RequiredTasks
from zhengji.parsers.checks.rules.sections import OptionalSections
from zhengji.parsers.checks.rules.signature import Signed
from zhengji.parsers.checks.rules.weights import Weights

_PROPOSAL = require_spec(FormId.new_occupation_proposal)
_SUMMARY = require_spec(FormId.new_occupation_summary)
_RECOMMENDATION = require_spec(FormId.skill_level_recommendation)
_LETTER = require_spec(FormId.evaluator_recommendation_letter)
_SPECIAL_SUMMARY = require_spec(FormId.special_ability_summary)
_SPECIAL_PROPOSAL = require_spec(FormId.special_ability_proposal)
_SPECIAL_CONTENT = require_spec(FormId.special_ability_content)

# Which fields are required, which columns every row fills and the printed length limits are the form data's
# (notices/data/forms); this table says which rules apply to each form and in what order.
RULES_BY_FORM: dict[FormId, list[Rule]] = {
    FormId.new_occupation_proposal: [
        CategoryTicked(),
        RequiredCategory(),
        RequiredTasks(),
        RequiredFields(*_PROPOSAL.required_paths()),
        OptionalSections(),
        LengthLimits(_PROPOSAL.limits()),
        PhoneValues("contact.phone", "employers[].phone", "training_orgs[].phone"),
        EmailValues("contact.email"),
        DateValues("fill_date"),
        Signed("signer"),
    ],
    FormId.new_occupation_summary: [
        RequiredFields(*_SUMMARY.required_paths()),
        RequiredRows(
            "rows",
            _SUMMARY.required_columns("rows"),
            by_province={"guangdong": _SUMMARY.required_columns("rows", "guangdong")},
        ),
        PhoneValues("contact_phone"),
        DateValues("fill_date"),
        Signed("recommender"),
    ],
    FormId.skill_level_recommendation: [
        RequiredFields(*_RECOMMENDATION.required_paths()),
        RequiredRows("rows", _RECOMMENDATION.required_columns("rows")),
        OccupationCodes(),
        CatalogAgreement(),
        AlreadyListed(),
        IndustryTagRule(),
        PhoneValues("contact_phone", email_allowed=True),
        DateValues("fill_date"),
        Signed("recommender"),
    ],
    FormId.evaluator_recommendation_letter: [
        RequiredFields(*_LETTER.required_paths()),
        DateValues("fill_date"),
        Signed("recommender"),
        FixedParagraph(),
    ],
    FormId.special_ability_summary: [
        RequiredFields(*_SPECIAL_SUMMARY.required_paths()),
        RequiredRows("rows", _SPECIAL_SUMMARY.required_columns("rows")),
        DomainCodes(),
        IndustryTagRule(),
        CreditCodes(),
        PhoneValues("contact_phone"),
        DateValues("fill_date"),
        Signed("recommender"),
    ],
    FormId.special_ability_proposal: [
        RequiredFields(*_SPECIAL_PROPOSAL.required_paths()),
    ],
    FormId.special_ability_content: [
        RequiredFields(*_SPECIAL_CONTENT.required_paths()),
        RequiredRows("tasks", _SPECIAL_CONTENT.required_columns("tasks")),
        Weights(),
    ],
    FormId.unknown: [],
}
