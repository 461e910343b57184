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
import json
import zipfile
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import need_server
from tests.fixtures.mutations.compare import score
from tests.fixtures.mutations.convert import ConversionFailed, convert_all, soffice
from tests.fixtures.mutations.corpus import Case, cases
from tests.fixtures.mutations.pen import WORDING_LISTS, WORDINGS_ENV, fold, holdout_faults, unseen_faults, wordings
from tests.fixtures.mutations.twins import pdf_artefacts, twins
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


def test_the_third_list_is_unseen_and_covers_every_wording() -> None:
    """The third list (``--wordings third``, issue 17) shares no variant with the first two and has every key."""
    assert unseen_faults("third") == []


def test_a_list_that_reuses_a_variant_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a list with a variant of an earlier one, or without a key, is not unseen."""
    third = wordings("third")
    lines = [f"[numerals]\nstyles = {third['numerals']['styles']!r}\n"]
    for table in ("label", "heading", "title"):
        for printed, entry in third[table].items():
            variants = list(entry["variants"])
            if (table, printed) == ("label", "联系电话"):
                variants[0] = "联系 方式"  # wordings.toml's 联系方式, spaced
            if (table, printed) != ("label", "序号"):
                lines.append(f'[{table}."{printed}"]\nvariants = {variants!r}\n')
    probe = tmp_path / "probe.toml"
    probe.write_text("\n".join(lines).replace("'", '"'), encoding="utf-8")
    monkeypatch.setitem(WORDING_LISTS, "third", probe)
    assert sorted(unseen_faults("third")) == ['[label."联系电话"] reuses "联系 方式"', 'no [label."序号"]']


def test_the_third_list_rewords_every_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reworded document builds from the third list and differs from the same document of the first."""
    first = {case.id: _body(case.docx) for case in CASES if case.cls == "reworded"}
    monkeypatch.setenv(WORDINGS_ENV, "third")
    third = {case.id: _body(case.docx) for case in cases() if case.cls == "reworded"}
    assert third.keys() == first.keys()
    assert {BY_ID[case_id].form for case_id in third} == {case.form for case in CASES}
    assert [case_id for case_id in third if third[case_id] == first[case_id]] == []


def _reused_up_to_case(name: str) -> list[str]:
    """The variants of list ``name`` that a list before it already has up to letter case ("TEL" for "Tel"):
    ``fold`` keeps case, and a gloss typed in capitals is no new wording."""
    order = list(WORDING_LISTS)
    earlier = {fold(variant).casefold(): other for other in order[: order.index(name)]
               for table in ("label", "heading", "title") for entry in wordings(other)[table].values()
               for variant in entry["variants"]}  # fmt: skip
    return [f'[{table}."{printed}"] has "{variant}" of {earlier[fold(variant).casefold()]}'
            for table in ("label", "heading", "title") for printed, entry in wordings(name)[table].items()
            for variant in entry["variants"] if fold(variant).casefold() in earlier]  # fmt: skip


# The lists written blind to the reader (issue 17): each must be new against every list before it.
BLIND_LISTS = ["fourth", "fifth"]


@pytest.mark.parametrize("name", BLIND_LISTS)
def test_a_blind_list_is_unseen_and_covers_every_wording(name: str) -> None:
    """A list written blind to the reader (``--wordings fourth``, ``--wordings fifth``) shares no variant with the
    lists before it, not even up to width, spaces or case, has every key, and new section numerals."""
    assert unseen_faults(name) == []
    assert _reused_up_to_case(name) == []


@pytest.mark.parametrize(
    ("name", "variant", "retyped", "earlier"),
    [("fourth", "Phone", "TEL", "holdout"), ("fifth", "Telephone", "PHONE", "fourth")],
)
def test_a_blind_list_that_reuses_a_variant_up_to_case_is_refused(
    name: str, variant: str, retyped: str, earlier: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: "TEL" is the holdout list's "Tel" and "PHONE" the fourth list's "Phone", which
    ``fold`` alone does not see."""
    checked = wordings(name)
    lines = [f"[numerals]\nstyles = {json.dumps(checked['numerals']['styles'], ensure_ascii=False)}\n"]
    for table in ("label", "heading", "title"):
        for printed, entry in checked[table].items():
            variants = [retyped if each == variant else each for each in entry["variants"]]
            lines.append(f'[{table}."{printed}"]\nvariants = {json.dumps(variants, ensure_ascii=False)}\n')
    probe = tmp_path / "probe.toml"
    probe.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setitem(WORDING_LISTS, name, probe)
    assert unseen_faults(name) == []
    assert _reused_up_to_case(name) == [f'[label."联系电话"] has "{retyped}" of {earlier}']


@cache
def _reworded_bodies(name: str) -> dict[str, bytes]:
    """The ``reworded`` documents built from list ``name``, once per run (the lists do not change during one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WORDINGS_ENV, name)
        return {case.id: _body(case.docx) for case in cases() if case.cls == "reworded"}


@pytest.mark.parametrize("name", BLIND_LISTS)
def test_a_blind_list_rewords_every_form(name: str) -> None:
    """Every reworded document builds from the list and differs from the same document of each other list."""
    built = _reworded_bodies(name)
    assert {BY_ID[case_id].form for case_id in built} == {case.form for case in CASES}
    for other in WORDING_LISTS:
        if other != name:
            assert _reworded_bodies(other).keys() == built.keys()
            assert [case_id for case_id in built if built[case_id] == _reworded_bodies(other)[case_id]] == [], other


@pytest.fixture(scope="module")
def twin_exports() -> dict[str, bytes]:
    """The 沪 建议书 and 推荐表 twins and the notice's own 沪 建议书, exported by LibreOffice in one call."""
    if soffice() is None:
        need_server("LibreOffice (soffice) is needed for the PDF exports")
    made = {twin.spec.key: twin for twin in twins()}
    files = {f"twin-{key}": made[key].docx for key in ("sh_proposal", "recommendation", "special_summary")}
    files["baseline-sh_proposal"] = BY_ID["baseline-sh_proposal-notice"].docx
    try:
        return convert_all(files, "pdf", timeout=300)
    except ConversionFailed as error:
        need_server(str(error))
        raise


def test_a_twins_pdf_really_carries_the_artefacts_of_an_export(twin_exports: dict[str, bytes]) -> None:
    """The twins measure what they claim: the PDF text breaks the e-mail and numbers that the Word file holds whole,
    and the notice's own layout, exported the same way, does not break the e-mail or spread the phone."""
    made = {twin.spec.key: twin for twin in twins()}
    proposal = made["sh_proposal"]
    kinds = {(artefact.kind, artefact.what) for artefact in proposal.artefacts}
    assert kinds == {("wrapped", "e-mail"), ("spaced", "phone"), ("wrapped", "phone")}
    for key in ("sh_proposal", "recommendation", "special_summary"):
        shown = pdf_artefacts(twin_exports[f"twin-{key}"], made[key].artefacts)
        assert shown and all(shown.values()), f"{key}: {shown}"
    plain = pdf_artefacts(twin_exports["baseline-sh_proposal"], proposal.artefacts)
    assert [artefact.what for artefact, found in plain.items() if found and artefact.kind == "spaced"] == []
    assert [artefact.what for artefact, found in plain.items() if found and artefact.what == "e-mail"] == []
    # The Word file itself holds every value whole: only the export breaks them.
    body = _body(proposal.docx).decode()
    assert all(artefact.value in body for artefact in proposal.artefacts)
