"""The .docx reader on real Word files built here: merged cells, tick boxes, pictures, headers, broken files."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION
from docx.shared import Cm

from tests.parsers.readers.docx_builders import (
    content_checkbox,
    form_checkbox,
    fragment,
    paragraph,
    png_bytes,
    proposal_form,
    run,
    set_row_property,
    set_tc_property,
    sym,
    text_control,
    textbox,
    to_bytes,
)
from zhengji.parsers.model import CHECKED, PICTURE, UNCHECKED, Cell, Layout, Table, Unreadable
from zhengji.parsers.readers.docx import read_docx


def spans(table: Table) -> set[tuple[int, int, int, int, str]]:
    """The unique cells as a reader checks them: (row, col, rowspan, colspan, text), each listed once."""
    found = [(cell.row, cell.col, cell.rowspan, cell.colspan, cell.text) for cell in table.cells]
    assert len({(row, col) for row, col, *_ in found}) == len(found), "a merged cell is listed more than once"
    return set(found)


def only_table(layout: Layout) -> Table:
    assert len(layout.tables) == 1
    return layout.tables[0]


def text_at(table: Table, row: int, col: int) -> str:
    cell = table.at(row, col)
    assert cell is not None, f"no cell covers ({row}, {col})"
    return cell.text


def grid_document(rows: int, cols: int) -> tuple[DocumentObject, list[list[str]]]:
    """A table whose every cell holds its own position, so that merges show which texts they kept."""
    document = Document()
    table = document.add_table(rows=rows, cols=cols)
    names = [[f"r{row}c{col}" for col in range(cols)] for row in range(rows)]
    for row in range(rows):
        for col in range(cols):
            table.cell(row, col).text = names[row][col]
    return document, names


# --- merged cells ------------------------------------------------------------------------------------------------


def test_horizontal_merge_is_one_cell_spanning_columns() -> None:
    document, _ = grid_document(2, 4)
    table = document.tables[0]
    merged = table.cell(0, 1).merge(table.cell(0, 2))
    merged.text = "跨两列"

    result = only_table(read_docx(to_bytes(document)))

    assert (result.n_rows, result.n_cols) == (2, 4)
    assert spans(result) == {
        (0, 0, 1, 1, "r0c0"),
        (0, 1, 1, 2, "跨两列"),
        (0, 3, 1, 1, "r0c3"),
        (1, 0, 1, 1, "r1c0"),
        (1, 1, 1, 1, "r1c1"),
        (1, 2, 1, 1, "r1c2"),
        (1, 3, 1, 1, "r1c3"),
    }
    assert result.at(0, 2) is result.at(0, 1)
    assert [cell.text for cell in result.row(0)] == ["r0c0", "跨两列", "r0c3"]


def test_vertical_merge_is_one_cell_spanning_rows() -> None:
    document, _ = grid_document(4, 2)
    table = document.tables[0]
    table.cell(0, 0).merge(table.cell(2, 0)).text = "主要工作任务"

    result = only_table(read_docx(to_bytes(document)))

    assert spans(result) == {
        (0, 0, 3, 1, "主要工作任务"),
        (0, 1, 1, 1, "r0c1"),
        (1, 1, 1, 1, "r1c1"),
        (2, 1, 1, 1, "r2c1"),
        (3, 0, 1, 1, "r3c0"),
        (3, 1, 1, 1, "r3c1"),
    }
    assert [cell.text for cell in result.row(2)] == ["主要工作任务", "r2c1"]


def test_cell_merged_both_ways_covers_a_block() -> None:
    document, _ = grid_document(4, 4)
    table = document.tables[0]
    table.cell(1, 1).merge(table.cell(2, 2)).text = "块"

    result = only_table(read_docx(to_bytes(document)))

    block = result.at(2, 2)
    assert block == Cell(row=1, col=1, rowspan=2, colspan=2, text="块")
    assert result.at(1, 2) is block and result.at(2, 1) is block
    assert len(result.cells) == 16 - 3
    assert [cell.text for cell in result.row(2)] == ["r2c0", "块", "r2c3"]


def test_vertical_merge_keeps_text_typed_into_the_lower_cells() -> None:
    document, _ = grid_document(3, 2)
    table = document.tables[0]
    table.cell(0, 0).merge(table.cell(1, 0))  # python-docx moves r1c0's text into the merged cell

    result = only_table(read_docx(to_bytes(document)))

    assert result.at(1, 0) == Cell(0, 0, 2, 1, "r0c0\nr1c0")


def test_grid_before_and_after_skip_grid_columns() -> None:
    document, _ = grid_document(3, 4)
    table = document.tables[0]
    # Row 1 starts one grid column in (a signature row indented under a label) and row 2 stops one short.
    row_1 = table.rows[1]._tr
    row_1.remove(row_1.tc_lst[0])
    set_row_property(row_1, "gridBefore", "1")
    row_2 = table.rows[2]._tr
    row_2.remove(row_2.tc_lst[-1])
    set_row_property(row_2, "gridAfter", "1")

    result = only_table(read_docx(to_bytes(document)))

    assert result.n_cols == 4
    assert result.at(1, 0) is None
    assert [(cell.col, cell.text) for cell in result.row(1)] == [(1, "r1c1"), (2, "r1c2"), (3, "r1c3")]
    assert [(cell.col, cell.text) for cell in result.row(2)] == [(0, "r2c0"), (1, "r2c1"), (2, "r2c2")]
    assert result.at(2, 3) is None


def test_old_style_horizontal_merge() -> None:
    document, _ = grid_document(1, 3)
    tcs = document.tables[0].rows[0]._tr.tc_lst
    set_tc_property(tcs[0], "hMerge", "restart")
    set_tc_property(tcs[1], "hMerge", None)

    result = only_table(read_docx(to_bytes(document)))

    assert spans(result) == {(0, 0, 1, 2, "r0c0\nr0c1"), (0, 2, 1, 1, "r0c2")}


def test_grid_width_falls_back_to_widest_row_without_tbl_grid() -> None:
    document, _ = grid_document(2, 3)
    tbl = document.tables[0]._tbl
    tbl.remove(tbl.tblGrid)

    result = only_table(read_docx(to_bytes(document)))

    assert (result.n_rows, result.n_cols) == (2, 3)


def test_proposal_form_task_rows_share_the_merged_label() -> None:
    document, _ = proposal_form()

    layout = read_docx(to_bytes(document))

    assert layout.paragraphs == ["新职业信息建议书", "建议人（盖章或签字）："]
    table = only_table(layout)
    assert (table.n_rows, table.n_cols) == (19, 5)
    label = table.at(8, 0)
    assert label == Cell(row=8, col=0, rowspan=11, colspan=1, text="主要工作任务")
    assert all(table.at(row, 0) is label for row in range(8, 19))
    assert [cell.text for cell in table.row(9)] == ["主要工作任务", "1", "采集、清洗原始数据", "标注平台", ""]
    assert [cell.text for cell in table.row(11)][2] == "审核标注质量"
    assert table.at(0, 4) == Cell(0, 0, 1, 5, "一、新职业类别 ¹")
    assert text_at(table, 1, 0) == "(√) 全新职业"  # a text tick stays as typed
    assert [cell.text for cell in table.row(3)] == ["新职业名称 ²", "数据标注员", "备选名称", "1.数据标记员"]
    assert [cell.text for cell in table.row(4)] == ["新职业名称 ²", "数据标注员", "备选名称", "2."]
    assert table.at(5, 4) == Cell(5, 1, 1, 4, "使用标注工具对数据进行标注的人员。")
    assert len(table.cells) == len({(cell.row, cell.col) for cell in table.cells})


def test_proposal_form_reads_the_same_after_libreoffice_resaves_it(tmp_path: Path) -> None:
    document, _ = proposal_form()
    source = tmp_path / "建议书.docx"
    source.write_bytes(to_bytes(document))
    out_dir = tmp_path / "out"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out_dir), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )

    resaved = read_docx((out_dir / "建议书.docx").read_bytes())
    original = read_docx(source.read_bytes())

    assert spans(only_table(resaved)) == spans(only_table(original))
    assert resaved.paragraphs == original.paragraphs


# --- text ---------------------------------------------------------------------------------------------------------


def test_content_control_text_in_a_cell_is_kept() -> None:
    document = Document()
    cell = document.add_table(rows=1, cols=2).cell(0, 1)
    tc = cell._tc
    tc.remove(tc.p_lst[0])
    tc.append(paragraph(run("联系人："), text_control("张三")))
    tc.append(
        fragment(
            "<w:sdt><w:sdtPr><w:id w:val='3'/></w:sdtPr>"
            f"<w:sdtContent><w:p>{run('13800000000')}</w:p></w:sdtContent></w:sdt>"
        )
    )
    tc.append(paragraph(run("邮箱："), text_control("单击或点击此处输入文字。", placeholder=True)))

    result = only_table(read_docx(to_bytes(document)))

    assert result.at(0, 1) == Cell(0, 1, 1, 1, "联系人：张三\n13800000000\n邮箱：")


def test_block_level_content_control_in_the_body_is_read_in_order() -> None:
    document = Document()
    document.add_paragraph("前")
    body = document.element.body
    body.insert(1, fragment(f"<w:sdt><w:sdtContent><w:p>{run('控件中的段落')}</w:p></w:sdtContent></w:sdt>"))
    document.add_paragraph("后")

    assert read_docx(to_bytes(document)).paragraphs == ["前", "控件中的段落", "后"]


def test_tabs_breaks_hyphens_and_spaces() -> None:
    document = Document()
    document.add_table(rows=1, cols=1)
    tc = document.tables[0].cell(0, 0)._tc
    tc.remove(tc.p_lst[0])
    tc.append(paragraph(run("姓\u3000\u3000名"), "<w:r><w:tab/></w:r>", run("李四   ")))
    tc.append(paragraph(run("第一行"), "<w:r><w:br/></w:r>", run("第二行"), "<w:r><w:noBreakHyphen/></w:r>", run("续")))
    tc.append(paragraph(run("   ")))

    result = only_table(read_docx(to_bytes(document)))

    assert text_at(result, 0, 0) == "姓\u3000\u3000名\t李四\n第一行\n第二行-续"


def test_nested_table_text_belongs_to_its_cell() -> None:
    document = Document()
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "培训机构情况"
    host = outer.cell(0, 1)
    host.text = "见下表："
    inner = host.add_table(rows=2, cols=2)
    for row, values in enumerate([("名称", "地址"), ("某培训学校", "上海市徐汇区")]):
        for col, value in enumerate(values):
            inner.cell(row, col).text = value

    result = only_table(read_docx(to_bytes(document)))

    assert result.at(0, 1) == Cell(0, 1, 1, 1, "见下表：\n名称 地址\n某培训学校 上海市徐汇区")


def test_tracked_deletion_is_not_text_and_insertion_is() -> None:
    document = Document()
    body = document.element.body
    body.insert(
        0,
        paragraph(
            run("所属行业："),
            '<w:del w:id="1" w:author="甲" w:date="2025-03-21T00:00:00Z">'
            "<w:r><w:delText>制造业</w:delText></w:r></w:del>",
            f'<w:ins w:id="2" w:author="甲" w:date="2025-03-21T00:00:00Z">{run("软件业")}</w:ins>',
        ),
    )

    layout = read_docx(to_bytes(document))

    assert layout.paragraphs == ["所属行业：软件业"]
    assert layout.notes and "修订" in layout.notes[0]


def test_field_instruction_is_not_text_and_result_is() -> None:
    document = Document()
    document.element.body.insert(
        0,
        paragraph(
            run("填写时间："),
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
            '<w:r><w:instrText xml:space="preserve"> DATE \\@ "yyyy年M月d日" </w:instrText></w:r>',
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
            run("2025年3月25日"),
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
        ),
    )

    assert read_docx(to_bytes(document)).paragraphs == ["填写时间：2025年3月25日"]


def test_textbox_text_is_read_once_in_its_anchor_paragraph() -> None:
    document = Document()
    document.element.body.insert(0, paragraph(run("建议人（盖章或签字）："), textbox("上海某某科技有限公司")))

    assert read_docx(to_bytes(document)).paragraphs == ["建议人（盖章或签字）：上海某某科技有限公司"]


def test_header_title_comes_first_and_footer_last() -> None:
    document = Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "新职业信息建议书"
    section.footer.paragraphs[0].text = "第 1 页"
    document.add_paragraph("建议人（盖章或签字）：")
    document.add_table(rows=1, cols=1).cell(0, 0).text = "一、新职业类别"
    # A second section linked to the first adds no second copy of the header.
    document.add_section(WD_SECTION.NEW_PAGE)
    document.add_paragraph("三、从业要求")

    layout = read_docx(to_bytes(document))

    assert layout.format == "docx"
    assert [block if isinstance(block, str) else "<table>" for block in layout.blocks] == [
        "新职业信息建议书",
        "建议人（盖章或签字）：",
        "<table>",
        "三、从业要求",
        "第 1 页",
    ]


# --- tick boxes ---------------------------------------------------------------------------------------------------


def test_wps_wingdings_boxes_become_checked_and_unchecked() -> None:
    document = Document()
    tc = document.add_table(rows=1, cols=1).cell(0, 0)._tc
    tc.remove(tc.p_lst[0])
    # WPS writes its boxes with Wingdings 2; Word's "insert symbol" uses Wingdings.
    tc.append(paragraph(sym("Wingdings 2", "F052"), run("全新职业"), sym("Wingdings 2", "F0A3"), run("新工种")))
    tc.append(paragraph(sym("Wingdings", "F0FE"), run("是"), sym("Wingdings", "F0A8"), run("否")))
    tc.append(
        paragraph(
            '<w:r><w:rPr><w:rFonts w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr><w:t>\uf052</w:t></w:r>',
            run("调整变更"),
        )
    )

    result = only_table(read_docx(to_bytes(document)))

    assert text_at(result, 0, 0) == f"{CHECKED}全新职业{UNCHECKED}新工种\n{CHECKED}是{UNCHECKED}否\n{CHECKED}调整变更"


@pytest.mark.parametrize("font", ["Wingdings", "Wingdings 2", ""])
def test_wps_box_codes_are_read_whatever_font_name_the_run_gives(font: str) -> None:
    document = Document()
    document.element.body.insert(0, paragraph(sym(font, "F052"), run("新职业 "), sym(font, "F0A3"), run("新工种")))

    assert read_docx(to_bytes(document)).paragraphs == [f"{CHECKED}新职业 {UNCHECKED}新工种"]


def test_unknown_symbol_glyphs_are_dropped() -> None:
    document = Document()
    document.element.body.insert(0, paragraph(run("电话"), sym("Wingdings", "F028"), run("：021-12345678")))

    assert read_docx(to_bytes(document)).paragraphs == ["电话：021-12345678"]


def test_text_tick_glyphs_stay_as_written() -> None:
    document = Document()
    document.add_paragraph("（√）全新职业 ☒新工种 ☐调整变更 ■ □ ✓")

    assert read_docx(to_bytes(document)).paragraphs == ["（√）全新职业 ☒新工种 ☐调整变更 ■ □ ✓"]


@pytest.mark.parametrize(
    ("checked", "default", "expected"),
    [
        ("", "0", CHECKED),  # <w:checked/> without a value means ticked
        ("1", "0", CHECKED),
        ("0", "1", UNCHECKED),
        (None, "1", CHECKED),  # never clicked: the default state shows
        (None, "0", UNCHECKED),
    ],
)
def test_legacy_form_field_check_box(checked: str | None, default: str, expected: str) -> None:
    document = Document()
    document.element.body.insert(0, paragraph(run("（"), form_checkbox(checked, default), run("）全新职业")))

    assert read_docx(to_bytes(document)).paragraphs == [f"（{expected}）全新职业"]


def test_content_control_check_boxes() -> None:
    document = Document()
    tc = document.add_table(rows=1, cols=1).cell(0, 0)._tc
    tc.remove(tc.p_lst[0])
    tc.append(paragraph(content_checkbox(True), run("新职业"), content_checkbox(False), run("新工种")))

    result = only_table(read_docx(to_bytes(document)))

    assert text_at(result, 0, 0) == f"{CHECKED}新职业{UNCHECKED}新工种"


# --- pictures -----------------------------------------------------------------------------------------------------


def test_seal_picture_in_a_cell_marks_its_place() -> None:
    document = Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "推荐单位意见"
    paragraph_ = table.cell(0, 1).paragraphs[0]
    paragraph_.add_run("建议人（盖章或签字）：")
    paragraph_.add_run().add_picture(io.BytesIO(png_bytes()), width=Cm(2))
    table.cell(0, 1).add_paragraph("2025 年 3 月 25 日")

    result = only_table(read_docx(to_bytes(document)))

    assert result.at(0, 1) == Cell(0, 1, 1, 1, f"建议人（盖章或签字）：{PICTURE}\n2025 年 3 月 25 日")
    assert result.at(0, 0) == Cell(0, 0, 1, 1, "推荐单位意见")


def test_picture_in_a_body_paragraph() -> None:
    document = Document()
    document.add_paragraph("建议人（盖章或签字）：").add_run().add_picture(io.BytesIO(png_bytes()), width=Cm(2))

    assert read_docx(to_bytes(document)).paragraphs == [f"建议人（盖章或签字）：{PICTURE}"]


# --- unreadable files ---------------------------------------------------------------------------------------------


def test_bytes_that_are_not_a_zip_are_unreadable() -> None:
    with pytest.raises(Unreadable) as raised:
        read_docx(b"this is not a Word file at all")
    assert str(raised.value) == "该 Word 文件已损坏，无法打开，请重新导出 .docx 或 PDF 后发送。"


def test_truncated_docx_is_unreadable() -> None:
    data = to_bytes(proposal_form()[0])

    with pytest.raises(Unreadable, match="已损坏"):
        read_docx(data[: len(data) // 2])


def rewrite(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The same package with some parts replaced (or dropped when None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in replace:
                new = replace[info.filename]
                if new is not None:
                    target.writestr(info.filename, new)
            else:
                target.writestr(info, source.read(info.filename))
    return out.getvalue()


def test_missing_document_part_is_unreadable() -> None:
    data = rewrite(to_bytes(Document()), {"word/document.xml": None})

    with pytest.raises(Unreadable, match="已损坏"):
        read_docx(data)


def test_broken_document_xml_is_unreadable() -> None:
    document = Document()
    document.add_paragraph("正文")
    data = to_bytes(document)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("word/document.xml")

    with pytest.raises(Unreadable, match="已损坏"):
        read_docx(rewrite(data, {"word/document.xml": xml[: len(xml) // 2]}))


def test_huge_document_xml_is_refused_before_parsing() -> None:
    data = to_bytes(Document())
    padding = b" " * (51 * 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("word/document.xml")
    bomb = rewrite(data, {"word/document.xml": xml.replace(b"<w:body>", b"<w:body>" + padding, 1)})
    assert len(bomb) < 1024 * 1024  # it compresses to almost nothing, as a zip bomb does

    with pytest.raises(Unreadable, match="异常庞大"):
        read_docx(bomb)


def ole_file(*stream_names: str) -> bytes:
    """An OLE compound file's header and a directory sector naming the given streams (UTF-16 names)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    entries = b"".join(name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64 for name in stream_names)
    return header + entries


def test_password_protected_docx_asks_to_remove_the_password() -> None:
    data = ole_file("Root Entry", "EncryptionInfo", "EncryptedPackage")

    with pytest.raises(Unreadable) as raised:
        read_docx(data)
    assert str(raised.value) == "该 Word 文件设有打开密码，请取消密码后重新发送。"


def test_legacy_doc_named_docx_is_unreadable_as_docx() -> None:
    with pytest.raises(Unreadable, match=r"\.doc"):
        read_docx(ole_file("Root Entry", "WordDocument", "1Table"))


def test_spreadsheet_is_not_read_as_a_word_file(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active["A1"] = "新职业名称"
    path = tmp_path / "汇总表.xlsx"
    workbook.save(path)

    with pytest.raises(Unreadable):
        read_docx(path.read_bytes())


def test_first_page_header_prints_before_the_default_one() -> None:
    document = Document()
    section = document.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "附件 1 新职业信息建议书"
    section.header.paragraphs[0].text = "续页"
    section.even_page_header.paragraphs[0].text = "偶数页"
    document.add_paragraph("正文")

    assert read_docx(to_bytes(document)).paragraphs == ["附件 1 新职业信息建议书", "续页", "正文"]


def test_first_page_header_that_does_not_print_is_left_out() -> None:
    document = Document()
    section = document.sections[0]
    section.first_page_header.paragraphs[0].text = "未启用的首页页眉"
    section.different_first_page_header_footer = False
    document.add_paragraph("正文")

    assert read_docx(to_bytes(document)).paragraphs == ["正文"]


def test_vml_picture_marks_its_place() -> None:
    document = Document()
    rel_id, _ = document.part.get_or_add_image(io.BytesIO(png_bytes()))
    vml = (
        '<w:r><w:pict><v:shape id="seal" style="width:60pt;height:60pt">'
        f'<v:imagedata xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="{rel_id}"/>'
        "</v:shape></w:pict></w:r>"
    )
    document.element.body.insert(0, paragraph(run("推荐单位（加盖公章）："), vml))

    assert read_docx(to_bytes(document)).paragraphs == [f"推荐单位（加盖公章）：{PICTURE}"]


def test_document_without_a_body_is_unreadable() -> None:
    empty = b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
    data = rewrite(to_bytes(Document()), {"word/document.xml": empty})

    with pytest.raises(Unreadable, match="已损坏"):
        read_docx(data)


def test_macro_enabled_word_file_is_read() -> None:
    document = Document()
    document.add_paragraph("新职业名称：数据标注员")
    data = to_bytes(document)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        types = archive.read("[Content_Types].xml")
    docm_types = types.replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
    )
    assert docm_types != types

    assert read_docx(rewrite(data, {"[Content_Types].xml": docm_types})).paragraphs == ["新职业名称：数据标注员"]
