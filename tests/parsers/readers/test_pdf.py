"""read_pdf on PDFs LibreOffice exported from real Word forms, scans, protected and broken files."""

from __future__ import annotations

import pytest

from tests.parsers.readers import office_files
from zhengji.parsers.model import Table, Unreadable
from zhengji.parsers.readers.pdf import join_wrapped_lines, read_pdf


def _only_table(blocks: list[object]) -> Table:
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


@pytest.mark.parametrize(
    ("wrapped", "expected"),
    [
        ("使用标注工具对图像进\n行分类", "使用标注工具对图像进行分类"),
        ("1.采集数据\n2.标记数据", "1.采集数据\n2.标记数据"),
        ("（一）征集推荐\n（二）专家评估", "（一）征集推荐\n（二）专家评估"),
        ("data anno-\ntation tools", "data anno- tation tools"),
        ("使用 Python\n进行清洗", "使用 Python进行清洗"),
    ],
)
def test_join_wrapped_lines(wrapped: str, expected: str) -> None:
    assert join_wrapped_lines(wrapped) == expected
