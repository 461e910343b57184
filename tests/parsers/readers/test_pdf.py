"""read_pdf on PDFs LibreOffice exported from real Word forms, scans, protected and broken files."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest

import zhengji.parsers.readers.pdf as pdf_reader
from tests.parsers.readers import office_files
from zhengji.parsers.model import Table, Unreadable
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.pdf import join_wrapped_lines, read_pdf
from zhengji.parsers.readers.pdf_pdfium import read_page


def _only_table(blocks: Sequence[object]) -> Table:
    tables = [block for block in blocks if isinstance(block, Table)]
    assert len(tables) == 1
    return tables[0]


def test_read_pdf_rebuilds_merged_cells_as_spans() -> None:
    layout = read_pdf(office_files.pdfs()["form"])
    table = _only_table(layout.blocks)
    assert (table.n_rows, table.n_cols) == (5, 4)
    title = table.at(0, 3)
    assert title is not None and (title.text, title.colspan, title.rowspan) == ("一、新职业类别", 4, 1)
    tasks = table.at(4, 0)
    assert tasks is not None and (tasks.text, tasks.row, tasks.rowspan) == ("主要工作任务", 3, 2)
    assert [cell.text for cell in table.row(1)] == ["新职业名称", "数据标注员", "备选名称", "标注师"]
    definition = table.at(2, 2)
    assert definition is not None and definition.colspan == 3


def test_read_pdf_joins_wrapped_chinese_without_spaces_and_keeps_numbered_items() -> None:
    table = _only_table(read_pdf(office_files.pdfs()["form"]).blocks)
    definition = table.at(2, 1)
    assert definition is not None
    # The definition wraps in the PDF; it must read exactly as typed.
    assert definition.text == office_files.LONG_DEFINITION
    content = table.at(4, 1)
    assert content is not None and content.text == office_files.TASKS


def test_read_pdf_puts_paragraphs_around_the_table_in_reading_order() -> None:
    blocks = read_pdf(office_files.pdfs()["form"]).blocks
    assert blocks[0] == "新职业信息建议书"
    assert blocks[1] == "建议人（盖章或签字）：上海某某科技有限公司"
    assert isinstance(blocks[2], Table)
    assert blocks[3] == "填写时间：2025年3月21日"
    assert len(blocks) == 4


def test_read_pdf_merges_a_table_continued_on_the_next_page() -> None:
    layout = read_pdf(office_files.pdfs()["long"])
    assert layout.pages is not None and layout.pages >= 2
    table = _only_table(layout.blocks)
    assert (table.n_rows, table.n_cols) == (61, 3)
    assert [cell.text for cell in table.row(60)] == ["60", "职业60", "单位60"]
    # Rows that start at the top of a page have their number filled: each stays a row of its own.
    assert [table.row(index)[0].text for index in range(1, 61)] == [str(index) for index in range(1, 61)]
    assert [cell.text for cell in table.row(0)] == ["序号", "新职业名称", "建议人"]
    # The running header and footer on every page do not split the table.
    blocks = layout.blocks
    assert (
        blocks.index("新职业汇总表") < blocks.index(table) < blocks.index("推荐单位（盖章）：某区人力资源和社会保障局")
    )


def test_read_pdf_scan_has_no_text_layer_and_no_blocks() -> None:
    layout = read_pdf(office_files.scanned_pdf(office_files.pdfs()["form"]))
    assert layout.text_layer is False
    assert layout.pages == 1
    assert layout.blocks == []


def test_read_pdf_text_pdf_has_a_text_layer() -> None:
    layout = read_pdf(office_files.pdfs()["form"])
    assert layout.text_layer is True
    assert layout.pages == 1
    assert layout.format == "pdf"


def test_read_pdf_password_protected_asks_to_remove_the_password() -> None:
    with pytest.raises(Unreadable) as caught:
        read_pdf(office_files.encrypted_pdf())
    assert str(caught.value) == "该 PDF 文件设有密码，请取消密码后重新发送。"


def test_read_pdf_truncated_file_is_unreadable() -> None:
    data = office_files.pdfs()["form"]
    with pytest.raises(Unreadable) as caught:
        read_pdf(data[: len(data) // 3])
    assert "PDF" in str(caught.value)


def test_read_pdf_random_bytes_are_unreadable() -> None:
    with pytest.raises(Unreadable):
        read_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 8)


def test_read_pdf_refuses_a_file_too_long_to_be_a_form() -> None:
    with pytest.raises(Unreadable) as caught:
        read_pdf(office_files.blank_pdf(201))
    assert "200 页" in str(caught.value)


def test_read_pdf_counts_the_red_seal() -> None:
    assert read_pdf(office_files.pdfs()["seal"]).red_seals == 1
    assert read_pdf(office_files.pdfs()["form"]).red_seals == 0


def _page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [str(page.extract_text()) for page in document.pages]


def _value_beside(table: Table, label: str) -> str:
    for cell in table.cells:
        if cell.text == label:
            beside = table.at(cell.row, cell.col + cell.colspan)
            assert beside is not None
            return beside.text
    raise AssertionError(f"no cell {label!r}")


def test_read_pdf_keeps_a_row_word_broke_over_a_page_break_in_one_row() -> None:
    pdf = office_files.pdfs()["split_row"]
    pages = _page_texts(pdf)
    # The long answers really run over page breaks: their start and end are on different pages.
    first_line = office_files.LONG_ROLE[:8]
    assert first_line in pages[0] and "第30方面" not in pages[0].replace("\n", "")
    assert len(pages) >= 3
    table = _only_table(read_pdf(pdf).blocks)
    word = _only_table(read_docx(office_files.split_row_docx()).blocks)
    assert (table.n_rows, table.n_cols) == (word.n_rows, word.n_cols) == (9, 3)
    assert _value_beside(table, office_files.ROLE_LABEL) == office_files.LONG_ROLE
    assert _value_beside(table, "2") == office_files.LONG_TASK
    # The 主要工作任务 label still spans its five task rows though the page break falls inside them.
    tasks = table.at(8, 0)
    assert tasks is not None and (tasks.text, tasks.row, tasks.rowspan) == ("主要工作任务", 4, 5)
    assert [cell.text for cell in table.row(6)] == ["主要工作任务", "3", "实施集群飞行监控"]
    assert table.cells == word.cells


def test_read_pdf_joins_phone_numbers_and_addresses_wrapped_in_narrow_cells() -> None:
    pdf = office_files.pdfs()["narrow"]
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        printed = [[cell or "" for cell in row] for row in document.pages[0].find_tables()[0].extract()]
    # LibreOffice wraps them inside the token, and "基于 RTK" at the space; the reader must not put a space
    # inside the token, and must keep the one at the wrap.
    assert printed[1][3].startswith("0755-\n") and printed[4][3].count("\n") >= 2
    assert printed[1][2].startswith("技术上，基于\nRTK")
    table = _only_table(read_pdf(pdf).blocks)
    assert [table.row(row)[3].text for row in (1, 2, 3)] == list(office_files.PHONES)
    assert table.row(4)[3].text == office_files.EMAIL
    # The space the source had where the line wrapped is kept, and no other space is added.
    assert {table.row(row)[2].text for row in (1, 2, 3)} == {office_files.TECHNIQUE}
    assert table.cells == _only_table(read_docx(office_files.narrow_cells_docx()).blocks).cells


@pytest.mark.parametrize(
    ("wrapped", "expected"),
    [
        ("使用标注工具对图像进\n行分类", "使用标注工具对图像进行分类"),
        ("1.采集数据\n2.标记数据", "1.采集数据\n2.标记数据"),
        ("（一）征集推荐\n（二）专家评估", "（一）征集推荐\n（二）专家评估"),
        ("data anno-\ntation tools", "data anno- tation tools"),
        ("使用 Python\n进行清洗", "使用 Python进行清洗"),
        ("联系电话：0755-\n86528888", "联系电话：0755-86528888"),
        ("0731-\n888866\n66", "0731-88886666"),
        ("职业编码 4-04-\n05-05", "职业编码 4-04-05-05"),
        ("GB/T 4754—\n2017", "GB/T 4754—2017"),
        ("wangmin@yiwu-\ntech.cn", "wangmin@yiwu-tech.cn"),
        ("wangm\nin@yiw\nu-\ntech.cn", "wangmin@yiwu-tech.cn"),
        ("https://www.example.com/\nnew-occupation", "https://www.example.com/new-occupation"),
        ("基于 \nRTK 厘米级", "基于 RTK 厘米级"),
        ("Drone Light\nShow Designer", "Drone Light Show Designer"),
        ("Part 107\nrules", "Part 107 rules"),
        ("mail a@b.cn\nor call", "mail a@b.cn or call"),
        ("see www.example.com\nand more", "see www.example.com and more"),
        ("约 3.2 万人，\n2024 年", "约 3.2 万人，2024 年"),
    ],
)
def test_join_wrapped_lines(wrapped: str, expected: str) -> None:
    assert join_wrapped_lines(wrapped) == expected


@pytest.mark.parametrize("name", ["form", "long", "split_row", "narrow", "seal"])
def test_read_pdf_fast_reading_equals_pdfplumbers_reading(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = office_files.pdfs()[name]
    fast = read_pdf(pdf)
    # Every page declined by pypdfium2: the whole file is read by pdfplumber, as the fallback reads it.
    monkeypatch.setattr(pdf_reader, "read_page", lambda page: None)
    slow = read_pdf(pdf)
    assert fast.blocks and fast.blocks == slow.blocks


def _rounded(objects: Sequence[dict[str, object]], keys: Sequence[str]) -> list[tuple[object, ...]]:
    return sorted(
        tuple(round(value, 1) if isinstance(value, float) else value for value in (obj[key] for key in keys))
        for obj in objects
    )


def _edge_boxes(edges: Sequence[dict[str, Any]]) -> list[tuple[str, float, float, float, float]]:
    return sorted(
        (str(edge["orientation"]), float(edge["x0"]), float(edge["x1"]), float(edge["top"]), float(edge["bottom"]))
        for edge in edges
    )


def test_pypdfium2_reads_the_characters_and_edges_pdfplumber_reads() -> None:
    # The narrow cells hold what pdfium reports differently: a hyphen ending a line, and the spaces LibreOffice
    # draws on their own at a wrap ("基于 " before "RTK"), which pdfium leaves out of its text.
    pdf = office_files.pdfs()["narrow"]
    document = pdfium.PdfDocument(pdf)
    with pdfplumber.open(io.BytesIO(pdf)) as plumber:
        for number, expected in enumerate(plumber.pages):
            content = read_page(document[number])
            assert content is not None
            char_keys = ("text", "x0", "x1", "top", "bottom")
            assert _rounded(content.chars, char_keys) == _rounded(expected.chars, char_keys)
            assert any(char["text"] == " " for char in content.chars)
            assert any(char["text"] == "-" for char in content.chars)
            # pdfium's coordinates are single precision: an edge may sit a hundredth of a point away.
            assert len(content.edges) == len(expected.edges)
            for ours, theirs in zip(_edge_boxes(content.edges), _edge_boxes(expected.edges), strict=True):
                assert ours[0] == theirs[0]
                assert all(abs(a - b) <= 0.05 for a, b in zip(ours[1:], theirs[1:], strict=True))
    document.close()


def test_pypdfium2_declines_a_rotated_page_which_pdfplumber_reads() -> None:
    document = pdfium.PdfDocument(office_files.pdfs()["form"])
    assert read_page(document[0]) is not None
    document[0].set_rotation(90)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    rotated = pdfium.PdfDocument(buffer.getvalue())
    assert read_page(rotated[0]) is None
    rotated.close()
    # The file is still read, through pdfplumber: the form's labels are all there.
    layout = read_pdf(buffer.getvalue())
    texts = {cell.text for table in layout.tables for cell in table.cells}
    assert {"新职业名称", "备选名称", "主要工作任务"} <= texts
