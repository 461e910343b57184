"""The forms as applicants retype, reword and mark them: every correct document is read right and gets no error.

The corpus is ``tests/fixtures/mutations`` (issue 9): every form of the contract, correctly and completely filled,
in each mutation class (marks, reworded, markers, spacing, inline, swapped, reordered, split, blank_rows and the
unchanged baseline), built from the notices' wording and ``wordings.toml`` only. Each document is read through the
public entry ``parse_document`` and judged as a clerk judges it: an ``error`` finding on a correct document is a
wrong demand sent to an applicant, and a field not read as typed is a field the clerk has to correct. The test ids
name the class, the form and the variant (``reworded-sh_proposal-v2``), so that a failure says what broke.
``python -m benchmarks.mutations`` gives the same measure as a table, for PDF and .doc too.
"""

from __future__ import annotations

import ast
import io
import zipfile
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import need_server
from tests.fixtures.mutations.compare import score
from tests.fixtures.mutations.convert import ConversionFailed, convert_all, soffice
from tests.fixtures.mutations.corpus import Case, cases
from tests.fixtures.mutations.pen import fold, holdout_faults, wordings
from zhengji.parsers.document import ParseOptions, parse_document
from zhengji.parsers.model import ParsedDocument

CASES = cases()
BY_ID = {case.id: case for case in CASES}
MUTATIONS = Path(__file__).resolve().parents[1] / "fixtures" / "mutations"
# shared/ lies beside the repository, here and in CI.
NOTICES = Path(__file__).resolve().parents[3] / "shared" / "notices"
# A handful through the PDF export: the notice's layout, marks, rewording, a table cut over a page, other forms.
PDF_SAMPLE = [
    "baseline-sh_proposal-notice",
    "baseline-gd_proposal-notice",
    "marks-sh_proposal-vertalign",
    "reworded-sh_proposal-v1",
    "split-gd_proposal-page",
    "baseline-recommendation-notice",
    "baseline-special_content-notice",
]


@cache
def read(case_id: str) -> ParsedDocument:
    case = BY_ID[case_id]
    return parse_document(case.file_name, case.docx, "docx", ParseOptions(at=case.spec.at, isolate=False))


def _errors(document: ParsedDocument) -> list[str]:
    return [f"{finding.code} {finding.field or ''}: {finding.message}" for finding in document.findings
            if finding.severity == "error"]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_correct_document_gets_no_error(case: Case) -> None:
    document = read(case.id)
    assert document.form == case.form, f"read as {document.form}"
    assert _errors(document) == []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_every_field_is_read_as_typed(case: Case) -> None:
    result = score(case.expected, read(case.id).fields)
    assert result.wrong == [], f"{result.right}/{result.total} fields right:\n" + "\n".join(result.wrong)


@pytest.fixture(scope="module")
def pdf_exports() -> dict[str, bytes]:
    """The sample's PDF exports, made in one LibreOffice call."""
    if soffice() is None:
        need_server("LibreOffice (soffice) is needed for the PDF exports")
    try:
        return convert_all({name: BY_ID[name].docx for name in PDF_SAMPLE}, "pdf", timeout=300)
    except ConversionFailed as error:
        need_server(str(error))
        raise


@pytest.mark.parametrize("case_id", PDF_SAMPLE)
def test_a_correct_pdf_export_gets_no_error(case_id: str, pdf_exports: dict[str, bytes]) -> None:
    case = BY_ID[case_id]
    document = parse_document(
        f"{case.id}.pdf", pdf_exports[case_id], "pdf", ParseOptions(at=case.spec.at, isolate=False)
    )
    assert document.form == case.form, f"read as {document.form}"
    assert _errors(document) == []


# --- the corpus itself ----------------------------------------------------------------------------------------


def test_the_corpus_never_imports_the_readers_own_tables() -> None:
    """An honest measure: the corpus may not learn its wordings from the code it measures."""
    forbidden = ("zhengji.parsers.forms", "zhengji.parsers.checks", "zhengji.notices")
    for path in sorted(MUTATIONS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            assert not [name for name in names if name.startswith(forbidden)], f"{path.name} imports {names}"


def test_every_printed_wording_is_the_notices() -> None:
    """The keys of wordings.toml are the forms' printed wording, copied from the notices' texts."""
    if not NOTICES.is_dir():
        need_server(f"the notices' texts are not at {NOTICES}")
    text = fold("".join(path.read_text(encoding="utf-8") for path in NOTICES.glob("*.txt")))
    data = wordings()
    missing = [f"[{table}.{key}]" for table in ("label", "heading", "title") for key in data[table]
               if fold(key) not in text]  # fmt: skip
    assert missing == []


def _body(docx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read("word/document.xml")


def test_every_mutation_changes_its_document() -> None:
    """A mutation that leaves the notice's document as it was would measure nothing."""
    baselines = {case.spec.key: _body(case.docx) for case in CASES if case.cls == "baseline"}
    unchanged = [case.id for case in CASES if case.cls != "baseline" and _body(case.docx) == baselines[case.spec.key]]
    assert unchanged == []


def test_every_form_of_the_contract_is_in_every_class_that_fits_it() -> None:
    forms = {case.form for case in CASES}
    assert forms == {
        "new_occupation_proposal",
        "new_occupation_summary",
        "skill_level_recommendation",
        "evaluator_recommendation_letter",
        "special_ability_summary",
        "special_ability_proposal",
        "special_ability_content",
    }
    assert {case.cls for case in CASES if case.spec.key == "sh_proposal"} == {
        "baseline", "marks", "reworded", "markers", "spacing", "inline", "swapped", "reordered", "split", "blank_rows"
    }  # fmt: skip


def test_the_holdout_list_is_held_out() -> None:
    """The second wording list (``--wordings holdout``) shares no variant with the first and covers every key."""
    assert holdout_faults() == []
