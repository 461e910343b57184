"""The 新职业（信息）建议书 extractor on real Word files built as clerks fill the 沪 and 粤 forms in.

Each test builds a .docx with python-docx, reads it with the real Word reader and compares every field the
extractor returns with the data the file was built from.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.forms.proposal_docx import (
    Analysis,
    Foreign,
    Org,
    ProposalData,
    School,
    Task,
    build_proposal_docx,
    sample_proposal,
)
from zhengji.parsers.forms.proposal import SEAL, extract_proposal
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf

PROVINCES = ["shanghai", "guangdong"]
STYLES = ["notice", "sections", "single"]


def extract(data: ProposalData, style: str = "notice", **variants: Any) -> dict[str, Any]:
    return extract_proposal(read_docx(build_proposal_docx(data, style=style, **variants)))


def assert_fields(got: dict[str, Any], expected: dict[str, Any], ticks: int = 1) -> None:
    """Every contract key, compared one by one so that a failure names the field."""
    assert set(got) == set(expected) | {"category_ticks"}
    for key, value in expected.items():
        assert got[key] == value, key
    assert got["category_ticks"] == ticks


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("province", PROVINCES)
def test_filled_form_reads_back_every_field(province: str, style: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, style), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_province_is_told_by_the_form_not_the_data(province: str) -> None:
    got = extract(sample_proposal(province))
    assert got["province"] == province
    assert got["category"] == "new_occupation"


@pytest.mark.parametrize("category", ["new_occupation", "new_work_type", "adjustment"])
def test_guangdong_category_boxes(category: str) -> None:
    data = replace(sample_proposal("guangdong"), category=category)
    assert_fields(extract(data), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_category_ticked_with_a_wingdings_symbol_as_wps_writes_it(province: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, tick="wingdings"), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_no_category_ticked(province: str) -> None:
    data = sample_proposal(province)
    got = extract(data, tick="none")
    assert_fields(got, {**data.expected(), "category": None}, ticks=0)


def test_two_categories_ticked() -> None:
    data = sample_proposal("guangdong")
    got = extract(data, tick="two")
    assert_fields(got, {**data.expected(), "category": None}, ticks=2)


@pytest.mark.parametrize("style", ["notice", "single"])
@pytest.mark.parametrize("province", PROVINCES)
def test_values_typed_into_the_label_cells(province: str, style: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, style, inline_values=True), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_labels_retyped_with_spaces_and_half_width_punctuation(province: str) -> None:
    data = sample_proposal(province)
    got = extract(data, "sections", spaced_labels=True, ascii_punctuation=True)
    assert_fields(got, data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_task_rows_out_of_order_and_blank_in_the_middle(province: str) -> None:
    data = sample_proposal(province)
    data.tasks = [data.tasks[2], data.tasks[0], data.tasks[4], data.tasks[1], data.tasks[3]]
    got = extract(data, task_numbers="shuffled", blank_task_rows=(1, 3))
    assert_fields(got, data.expected())
    assert [task["content"] for task in got["tasks"]] == [task.content for task in data.tasks]


@pytest.mark.parametrize("province", PROVINCES)
def test_task_table_without_the_number_column(province: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, "single", drop_seq_column=True), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_more_tasks_than_the_printed_rows(province: str) -> None:
    data = sample_proposal(province)
    data.tasks = [*data.tasks, *(Task(f"第{index}项补充任务", f"工具{index}", None) for index in range(6, 11))]
    got = extract(data)
    assert_fields(got, data.expected())
    assert len(got["tasks"]) == 10


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("province", PROVINCES)
def test_blank_optional_sections(province: str, style: str) -> None:
    data = sample_proposal(province)
    data.foreign = Foreign()
    data.laws = None
    data.other = None
    data.schools = []
    data.training_orgs = []
    data.employers = []
    data.alt_names = []
    got = extract(data, style)
    assert_fields(got, data.expected())
    assert got["foreign"] == dict.fromkeys(
        ("regions", "similar_names", "main_tasks", "requirements", "standards", "training")
    )
    assert got["schools"] is None and got["employers"] is None and got["alt_names"] is None


@pytest.mark.parametrize("province", PROVINCES)
def test_blank_required_fields_are_null(province: str) -> None:
    data = sample_proposal(province)
    data.definition = None
    data.industry = None
    data.tasks = []
    data.analysis = Analysis(background="仅填写了产生背景。")
    data.contact = replace(data.contact, phone=None)
    got = extract(data)
    assert_fields(got, data.expected())
    assert got["tasks"] is None and got["contact"]["phone"] is None and got["analysis"]["role"] is None


@pytest.mark.parametrize("province", PROVINCES)
def test_a_retyped_form_repeats_the_school_block(province: str) -> None:
    data = sample_proposal(province)
    data.schools = [*data.schools, School("深圳职业技术大学", "无人机应用技术", "集群编程、航拍摄影")]
    data.employers = [*data.employers, Org("成都傲势科技有限公司", "四川省成都市高新区", "028-61234567")]
    data.foreign.regions = ["美国", "韩国", "澳大利亚"]
    data.foreign.similar_names = ["Drone Light Show Designer", "드론쇼 연출가", "Drone Show Pilot"]
    assert_fields(extract(data, "sections"), data.expected())


def test_guangdong_analysis_as_paragraphs_with_several_answer_paragraphs() -> None:
    data = sample_proposal("guangdong")
    data.analysis.background = "第一段：低空经济写入政府工作报告。\n第二段：集群表演替代烟花燃放。"
    got = extract(data, analysis_as="paragraphs")
    assert_fields(got, data.expected())
    assert got["analysis"]["background"].split("\n") == [
        "第一段：低空经济写入政府工作报告。",
        "第二段：集群表演替代烟花燃放。",
    ]


def test_guangdong_analysis_moved_into_the_table() -> None:
    data = sample_proposal("guangdong")
    assert_fields(extract(data, "sections", analysis_as="table"), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_seal_picture_alone_on_the_signature_line(province: str) -> None:
    data = sample_proposal(province)
    got = extract(data, signer="seal")
    assert_fields(got, {**data.expected(), "signer": SEAL})


@pytest.mark.parametrize("province", PROVINCES)
def test_seal_picture_beside_a_typed_name(province: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, signer="seal_and_name"), data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_unsigned_form(province: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, signer="none"), {**data.expected(), "signer": None})


@pytest.mark.parametrize("date_format", ["cjk", "dots", "chinese"])
@pytest.mark.parametrize("province", PROVINCES)
def test_fill_date_as_people_write_it(province: str, date_format: str) -> None:
    data = replace(sample_proposal(province), fill_date=date(2025, 12, 30))
    got = extract(data, date_format=date_format)
    assert got["fill_date"] == "2025-12-30"
    assert_fields(got, data.expected())


@pytest.mark.parametrize("province", PROVINCES)
def test_printed_date_template_left_blank(province: str) -> None:
    data = replace(sample_proposal(province), fill_date=None)
    got = extract(data)
    assert got["fill_date"] is None
    assert_fields(got, data.expected())


@pytest.mark.parametrize("title_in", ["header", "table"])
@pytest.mark.parametrize("province", PROVINCES)
def test_title_in_the_page_header_or_the_first_table_row(province: str, title_in: str) -> None:
    data = sample_proposal(province)
    assert_fields(extract(data, title_in=title_in), data.expected())


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{path}.{key}" if path else key))
        return out
    return {path: value}


def test_pdf_export_of_a_filled_form(tmp_path: Path) -> None:
    """The PDF a clerk exports from the same Word file (LibreOffice), read by the PDF reader."""
    data = sample_proposal("shanghai")
    source = tmp_path / "建议书.docx"
    source.write_bytes(build_proposal_docx(data))
    profile = f"file:///tmp/zhengji-lo-{uuid.uuid4().hex}"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
         str(source)],
        check=True,
        capture_output=True,
        timeout=240,
    )  # fmt: skip
    got = _flatten(extract_proposal(read_pdf((tmp_path / "建议书.pdf").read_bytes())))
    expected = _flatten(data.expected())
    # What the required-field and signature checks depend on must come through the PDF unchanged.
    for key in ("category", "name", "definition", "related_occupations", "industry", "contact.person",
                "contact.phone", "signer", "fill_date", "province", "analysis.background"):  # fmt: skip
        assert got[key] == expected[key], key
    assert [task["content"] for task in got["tasks"]] == [task.content for task in data.tasks]
    matched = sum(got.get(key) == value for key, value in expected.items())
    assert matched / len(expected) >= 0.85, [key for key, value in expected.items() if got.get(key) != value]


def extract_pdf(data: ProposalData, style: str = "notice", **variants: Any) -> dict[str, Any]:
    """The fields of the PDF LibreOffice exports from the built Word file, read by the real PDF reader."""
    docx = build_proposal_docx(data, style=style, **variants)
    return extract_proposal(read_pdf(convert_with_libreoffice(docx, "docx", "pdf")))


# Each of these exports breaks a page inside a table the way clerks' files do: a 用人单位 row cut after
# "0731-", the 吸纳从业人员较多的用人单位 label cut in two, an analysis label cut before "况（400 字以内）", values
# typed into label cells cut into the next row, a label cell whose last characters land in the next cell.
PDF_LAYOUTS = [
    ("guangdong", "notice", {}),
    ("guangdong", "notice", {"title_in": "table"}),
    ("guangdong", "sections", {}),
    ("guangdong", "notice", {"title_in": "header"}),
    ("shanghai", "sections", {}),
    ("shanghai", "notice", {"title_in": "header"}),
]


@pytest.mark.parametrize(("province", "style", "variants"), PDF_LAYOUTS)
def test_pdf_export_with_page_breaks_inside_tables_reads_back_every_field(
    province: str, style: str, variants: dict[str, Any]
) -> None:
    data = sample_proposal(province)
    got = extract_pdf(data, style, **variants)
    assert_fields(got, data.expected())
    assert got["employers"] == [vars(org) for org in data.employers]


@pytest.mark.parametrize("province", PROVINCES)
def test_pdf_export_of_values_typed_into_label_cells(province: str) -> None:
    data = sample_proposal(province)
    got = extract_pdf(data, inline_values=True)
    for key in ("name", "definition", "related_occupations", "requirements", "workforce", "analysis", "employers"):
        assert got[key] == data.expected()[key], key


@pytest.mark.parametrize("province", PROVINCES)
def test_pdf_export_of_a_wingdings_tick(province: str) -> None:
    data = sample_proposal(province)
    got = extract_pdf(data, tick="wingdings")
    assert got["category"] == "new_occupation"
    assert got["category_ticks"] == 1


@pytest.mark.parametrize("province", PROVINCES)
def test_pdf_export_with_a_seal_picture_alone_on_the_signature_line(province: str) -> None:
    data = sample_proposal(province)
    assert extract_pdf(data, signer="seal")["signer"] == SEAL


@pytest.mark.parametrize("province", PROVINCES)
def test_pdf_export_of_an_unsigned_form_has_no_signer(province: str) -> None:
    data = sample_proposal(province)
    assert extract_pdf(data, signer="none")["signer"] is None
