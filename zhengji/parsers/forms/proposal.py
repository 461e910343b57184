"""The 新职业（信息）建议书 (沪 000 附件1, 粤 002 附件1): its fields read from a Layout by their labels.

Applicants retype and rearrange the form, so nothing here trusts a cell position: every cell and paragraph is
matched once against the label table below, and a value is what stands to the right of its label in the same
row (up to the next label), or typed after the label in the label cell ("新职业名称：…"), or — for a label
row spanning the whole table, and for the paragraphs of 粤 五、职业（工种）分析 — what follows it. Table
sections (主要工作任务, 用人单位, 培训机构) are read by their header row's column labels, down to the next
row that holds a label. One index of the document is built per call; every field is a dictionary lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zhengji.parsers.checks.dates import is_blank_template, parse_date
from zhengji.parsers.forms.text import clean_value, label_key, ticked_options
from zhengji.parsers.model import CHECKED, PICTURE, UNCHECKED, Cell, Layout, Table

SEAL = "（印章）"  # The signer when the signature line holds a seal picture and no typed name.

_LABELS: dict[str, tuple[str, ...]] = {
    "name": ("新职业名称", "职业(工种)名称", "职业名称", "工种名称"),
    "alt_names": ("备选名称",),
    "definition": ("新职业定义", "职业(工种)定义", "职业定义", "工种定义"),
    "related_occupations": ("与相关职业的关系", "与相关职业(工种)的关系"),
    "industry": ("所属行业",),
    "tasks": ("主要工作任务",),
    "requirements.ethics": ("职业操守与职业道德",),
    "requirements.education": ("基本文化程度",),
    "requirements.special_ability": ("特殊能力",),
    "requirements.physique": ("身体素质与体能",),
    "requirements.teamwork": ("人际协作",),
    "requirements.safety": ("职业安全",),
    "workforce.national_count": ("全国从业人数",),
    "workforce.distribution": ("地区分布情况",),
    "workforce.supply_demand": ("最近一年劳动力市场供需情况", "劳动力市场供需情况"),
    "workforce.salary": ("薪酬情况",),
    "workforce.data_source": ("数据来源",),
    "employers": ("吸纳从业人员较多的用人单位",),
    "analysis.background": ("新职业产生背景", "产生背景", "职业(工种)产生背景"),
    "analysis.role": ("新职业在经济社会发展中的作用", "在经济社会发展中的作用"),
    "analysis.tech_change": (
        "与新职业直接相关的技术和从业方式的发展变化情况",
        "与该职业(工种)直接相关的技术和从业方式的发展变化情况",
        "与该职业直接相关的技术和从业方式的发展变化情况",
    ),
    "analysis.prospects": ("新职业的发展前景", "发展前景"),
    "schools": ("学校教育情况",),
    "school.name": ("院校名称",),
    "school.major": ("专业名称",),
    "school.courses": ("主干课程",),
    "training_orgs": ("培训机构情况",),
    "laws": ("有关法律法规情况",),
    "foreign.regions": ("国家或地区",),
    "foreign.similar_names": ("同类职业名称", "同类职业(工种)名称"),
    "foreign.main_tasks": ("主要工作内容",),
    "foreign.requirements": ("对从业人员要求",),
    "foreign.standards": ("相关职业标准要求", "相关职业(工种)标准情况", "相关职业标准情况", "相关职业(工种)标准要求"),
    "foreign.training": ("专业教育与职业培训情况", "专业教育与职业(工种)培训情况"),
    "contact.address": ("通讯地址",),
    "contact.person": ("联系人",),
    "contact.phone": ("联系电话",),
    "contact.email": ("电子信箱", "电子邮箱"),
    "other": ("其他需要说明的情况",),
    # Section headings hold no value; they end the value or the table section above them.
    "section": (
        "新职业类别",
        "申报类别",
        "新职业描述信息",
        "职业(工种)描述信息",
        "从业要求",
        "从业人员情况",
        "职业分析",
        "职业(工种)分析",
        "职业教育与培训情况",
        "职业(工种)教育与培训情况",
        "国外相关情况",
        "建议人情况",
        "联系信息",
    ),
}
_TASK_HEADERS = {"content": ("内容", "工作内容", "任务内容"), "tools": ("特有工具/设备", "特有工具", "工具/设备"),
                 "techniques": ("专门技术",)}  # fmt: skip
_ORG_HEADERS = {
    "name": ("单位名称", "名称", "机构名称"),
    "address": ("单位地址", "地址"),
    "phone": ("联系电话", "电话"),
}
_SCHOOL_HEADERS = {"name": ("院校名称",), "major": ("专业名称",), "courses": ("主干课程",)}

_SECTION_NUMBER = re.compile(r"^(?:[一二三四五六七八九十]+[、.,]|\([一二三四五六七八九十]+\))")
_LIMIT = re.compile(r"\(\d+字以内\)$")
_LIMIT_PREFIX = re.compile(r"^\s*[(（]\s*\d+\s*字以内\s*[)）]\s*[:：]?\s*")
_DECORATION = re.compile(r"\[\]|\(\)|【】|[「」『』《》]")
_SEPARATOR = re.compile(r"[:：\n]")
_COLON = re.compile(r"[:：]")
_MARKS_PREFIX = re.compile(r"^[\s¹²³⁴⁵⁶⁷⁸⁹⁰①-⑳:：]+")
# A phone number or code wrapped after its hyphen in a PDF label cell: "（4-99-00-\n00）".
_TOKEN_WRAP = re.compile(r"(?<=[\d\-‐‑–—])\n(?=\d)")
_DASH_END = re.compile(r"[\-‐‑–—]$")
# Symbol-font tick boxes as a PDF's text layer gives them (private-use code points), as the docx reader maps them.
_SYMBOL_TICKS = str.maketrans(
    {
        "\uf052": CHECKED, "\uf053": CHECKED, "\uf054": CHECKED, "\uf0fe": CHECKED, "\uf0fd": CHECKED,
        "\uf078": CHECKED, "\uf0a3": UNCHECKED, "\uf0a8": UNCHECKED, "\uf06f": UNCHECKED, "\uf050": "✓",
        "\uf0fc": "✓", "\uf06e": "■",
    }
)  # fmt: skip
_NUMBERING = re.compile(r"^\s*\d+\s*[.．、)）]\s*")
_PLACEHOLDER = re.compile(r"[\d\s.．、…。·]*")
_SIGNATURE = re.compile(
    r"(建议人|申报单位|个人|单位|签字人)\s*/?\s*(个人)?\s*\([^)\n]*(盖章|签字|签名)[^)\n]*\)\s*[:：]?"
)
_DATE_LABELS = ("填写时间", "填写日期", "填表时间", "填表日期")
_GUANGDONG_KEYS = frozenset({"新职业建议书", "申报类别", "职业(工种)名称"})


def _key(text: str | None) -> str:
    """A label as compared here: ``label_key`` without the section number, "(400字以内)" or empty brackets."""
    key = _DECORATION.sub("", label_key(text))
    return _LIMIT.sub("", _SECTION_NUMBER.sub("", key))


_FIELD_OF = {_key(label): field for field, labels in _LABELS.items() for label in labels}


def _match(text: str) -> tuple[str, str | None] | None:
    """(field, value typed after the label) when ``text`` is a label cell or paragraph, else None.

    A label matches whole ("新职业定义 ³") or before a colon or line break that starts a typed value
    ("新职业名称：无人机群飞表演编队师"); "发展前景广阔" is a value, not the label 发展前景.
    """
    field = _FIELD_OF.get(_key(text))
    if field is not None:
        return field, None
    # The colon first: a PDF wraps a narrow label cell, leaving "职业(工种)名称\n③：…" with the mark on line two.
    for separator in (_COLON, _SEPARATOR):
        parts = separator.split(text, maxsplit=1)
        if len(parts) == 2:
            field = _FIELD_OF.get(_key(parts[0]))
            if field is not None:
                return field, clean_value(_LIMIT_PREFIX.sub("", _MARKS_PREFIX.sub("", parts[1])))
    return None


def _match_prefix(text: str) -> str | None:
    """The field of a long label cut short: a PDF may lose a label's last characters to the next cell.

    Only labels of eight characters or more, and only when at least three quarters of the label are there,
    so that a value ("发展前景广阔") is never read as a label.
    """
    key = _key(text)
    if len(key) < 8:
        return None
    fields = {field for label, field in _FIELD_OF.items() if label.startswith(key) and len(key) * 4 >= len(label) * 3}
    return fields.pop() if len(fields) == 1 else None


def _join_split(head: str, tail: str) -> str:
    """Two pieces of one text cut by a PDF page break: CJK and numbers join with nothing, Latin words with a space."""
    head, tail = head.rstrip(), tail.lstrip()
    if not head or not tail:
        return head + tail
    if head[-1].isascii() and head[-1].isalpha() and tail[0].isascii() and tail[0].isalnum():
        return f"{head} {tail}"
    return head + tail


@dataclass(frozen=True)
class _Hit:
    """Where a label stands: a cell of table ``table``, or the paragraph at block index ``block``."""

    field: str
    remainder: str | None
    order: int
    table: int = -1
    cell: Cell | None = None
    block: int = -1
    # A label a PDF page break cut in two rows: ``cell`` stands for both pieces, and so does its value.
    split: bool = False


class _Grid:
    """A table with, per grid row, the unique cells covering it (Table.at is a scan; this is built once)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.rows: list[list[Cell]] = [[] for _ in range(table.n_rows)]
        for cell in table.cells:
            for row in range(cell.row, min(cell.row + max(cell.rowspan, 1), table.n_rows)):
                self.rows[row].append(cell)
        for cells in self.rows:
            cells.sort(key=lambda cell: cell.col)


class _Document:
    def __init__(self, layout: Layout) -> None:
        self.blocks = layout.blocks
        self.pdf = layout.format == "pdf"
        self.red_seals = layout.red_seals
        self.grids: dict[int, _Grid] = {}
        self.hits: dict[str, list[_Hit]] = defaultdict(list)
        self.label_cells: set[tuple[int, int, int]] = set()
        self.label_blocks: set[int] = set()
        self.texts: list[str] = []  # Every paragraph and cell text in reading order.
        order = 0
        for index, block in enumerate(layout.blocks):
            if isinstance(block, str):
                self.texts.append(block)
                found = _match(block) if block.strip() else None
                if found:
                    self.hits[found[0]].append(_Hit(found[0], found[1], order, block=index))
                    self.label_blocks.add(index)
                order += 1
                continue
            self.grids[index] = _Grid(block)
            consumed: set[tuple[int, int]] = set()
            for cell in sorted(block.cells, key=lambda cell: (cell.row, cell.col)):
                self.texts.append(cell.text)
                order += 1
                if (cell.row, cell.col) in consumed or not cell.text.strip():
                    continue
                found = _match(cell.text)
                if found:
                    self.hits[found[0]].append(_Hit(found[0], found[1], order - 1, table=index, cell=cell))
                    self.label_cells.add((index, cell.row, cell.col))
                    continue
                split = self._split_label(index, cell)
                if split is not None:
                    field, below = split
                    joined = Cell(
                        cell.row, cell.col, cell.rowspan + below.rowspan, cell.colspan, f"{cell.text}{below.text}"
                    )
                    self.hits[field].append(_Hit(field, None, order - 1, table=index, cell=joined, split=True))
                    self.label_cells.update({(index, cell.row, cell.col), (index, below.row, below.col)})
                    consumed.add((below.row, below.col))
                    continue
                cut = _match_prefix(cell.text)
                if cut is not None:
                    self.hits[cut].append(_Hit(cut, None, order - 1, table=index, cell=cell))
                    self.label_cells.add((index, cell.row, cell.col))

    def _split_label(self, table: int, cell: Cell) -> tuple[str, Cell] | None:
        """A label a PDF page break cut in two: its head in this cell, its tail in the cell right below it."""
        grid = self.grids[table]
        row = cell.row + max(cell.rowspan, 1)
        if row >= grid.table.n_rows:
            return None
        for below in grid.rows[row]:
            if below.row == row and below.col == cell.col and below.colspan == cell.colspan and below.text.strip():
                field = _FIELD_OF.get(_key(f"{cell.text}{below.text}"))
                return (field, below) if field is not None else None
        return None

    def is_label(self, table: int, cell: Cell) -> bool:
        return (table, cell.row, cell.col) in self.label_cells

    def first(self, field: str) -> _Hit | None:
        hits = self.hits.get(field)
        return hits[0] if hits else None

    # --- values --------------------------------------------------------------------------------------------------
    def value(self, field: str) -> str | None:
        hit = self.first(field)
        return self.value_at(hit) if hit else None

    def value_at(self, hit: _Hit) -> str | None:
        if hit.cell is None:
            return self._paragraph_value(hit)
        if hit.split:
            return self._split_value(hit)
        grid, cell = self.grids[hit.table], hit.cell
        texts: list[str] = []
        to_right = False
        for other in grid.rows[cell.row]:
            if other.col < cell.col + cell.colspan:
                continue
            if self.is_label(hit.table, other):
                break
            to_right = True
            if other.text.strip():
                texts.append(other.text.strip())
        value = clean_value("\n".join(texts))
        if value is None and hit.remainder is None and not to_right:
            value = self._below(hit.table, cell)
        if value is None and hit.remainder is not None and self.pdf:
            return self._inline_tail(hit.table, cell, _TOKEN_WRAP.sub("", hit.remainder))
        return value if value is not None else hit.remainder

    def _split_value(self, hit: _Hit) -> str | None:
        """The value beside a label cut by a page break: each column's two pieces joined back into one text."""
        assert hit.cell is not None
        grid, cell = self.grids[hit.table], hit.cell
        columns: dict[int, str] = {}
        for row in range(cell.row, min(cell.row + cell.rowspan, grid.table.n_rows)):
            for other in grid.rows[row]:
                if other.row != row or other.col < cell.col + cell.colspan:
                    continue
                if self.is_label(hit.table, other):
                    break
                if other.text.strip():
                    columns[other.col] = _join_split(columns.get(other.col, ""), other.text.strip())
        return clean_value("\n".join(columns[col] for col in sorted(columns)))

    def _inline_tail(self, table: int, cell: Cell, value: str) -> str:
        """A value typed into a label cell, with its tail that a PDF page break pushed into the next row.

        The tail stands in the label's column of the next row, every other cell of that row empty.
        """
        grid = self.grids[table]
        row = cell.row + max(cell.rowspan, 1)
        if row >= grid.table.n_rows:
            return value
        starting = [other for other in grid.rows[row] if other.row == row]
        tail = next((other for other in starting if other.col == cell.col and other.colspan == cell.colspan), None)
        if (
            tail is None
            or not tail.text.strip()
            or self.is_label(table, tail)
            or any(other.text.strip() for other in starting if other is not tail)
        ):
            return value
        return _join_split(value, _TOKEN_WRAP.sub("", tail.text))

    def _below(self, table: int, cell: Cell) -> str | None:
        """The value of a label row spanning the table: the next row, when it holds no label."""
        grid = self.grids[table]
        row = cell.row + max(cell.rowspan, 1)
        if cell.col != 0 or cell.colspan < grid.table.n_cols or row >= grid.table.n_rows:
            return None
        cells = grid.rows[row]
        if any(self.is_label(table, other) for other in cells):
            return None
        return clean_value("\n".join(other.text.strip() for other in cells if other.text.strip()))

    def _paragraph_value(self, hit: _Hit) -> str | None:
        """A label paragraph's answer: the paragraphs after it up to the next label, table or blank-label line."""
        lines = [hit.remainder] if hit.remainder else []
        for index in range(hit.block + 1, len(self.blocks)):
            block = self.blocks[index]
            if not isinstance(block, str) or index in self.label_blocks:
                break
            if _SIGNATURE.search(unicodedata.normalize("NFKC", block)) or any(label in block for label in _DATE_LABELS):
                break
            if _key(block):
                lines.append(block.strip())
        return clean_value("\n".join(lines))

    def items(self, field: str) -> list[str]:
        """The numbered entries of a label merged down over "1." / "2." rows (备选名称, 国家或地区)."""
        hit = self.first(field)
        if hit is None:
            return []
        raw: list[str] = [hit.remainder] if hit.remainder else []
        if hit.cell is None:
            raw.append(self._paragraph_value(hit) or "")
        else:
            grid, cell = self.grids[hit.table], hit.cell
            for row in range(cell.row, min(cell.row + max(cell.rowspan, 1), grid.table.n_rows)):
                for other in grid.rows[row]:
                    if other.col < cell.col + cell.colspan:
                        continue
                    if self.is_label(hit.table, other):
                        break  # 同类职业名称 beside 国家或地区, merged down from the first row.
                    if other.row == row:
                        raw.append(other.text)
        items = []
        for text in raw:
            for line in text.split("\n"):
                item = clean_value(_NUMBERING.sub("", line))
                if item and not _PLACEHOLDER.fullmatch(item):
                    items.append(item)
        return items

    # --- table sections ------------------------------------------------------------------------------------------
    def section_rows(self, field: str, headers: Mapping[str, tuple[str, ...]]) -> list[dict[str, str | None]]:
        """The rows under a section's header row, read by the header's column labels; blank rows dropped."""
        out: list[dict[str, str | None]] = []
        for hit in self.hits.get(field, []):
            if hit.cell is not None:
                out.extend(self._rows_under(hit.table, hit.cell, headers))
        return out

    def _rows_under(
        self, table: int, label: Cell, headers: Mapping[str, tuple[str, ...]]
    ) -> list[dict[str, str | None]]:
        grid = self.grids[table]
        keys = {_key(text): name for name, texts in headers.items() for text in texts}
        columns: list[tuple[str, int, int]] = []
        header_row = -1
        for row in range(label.row, min(label.row + 3, grid.table.n_rows)):
            columns = [
                (name, cell.col, cell.col + cell.colspan)
                for cell in grid.rows[row]
                if cell.col >= label.col + label.colspan
                and cell.row == row
                and (name := _header_of(cell.text, keys)) is not None
            ]
            if columns:
                header_row = row
                break
        if header_row < 0:
            return []
        span_end = label.row + max(label.rowspan, 1)
        out: list[dict[str, str | None]] = []
        first = header_row + 1
        while True:
            for row in range(first, grid.table.n_rows):
                cells = [cell for cell in grid.rows[row] if cell != label]
                if row >= span_end and any(self.is_label(table, cell) for cell in cells):
                    return out
                record: dict[str, str | None] = {}
                for name, start, end in columns:
                    texts = [
                        cell.text.strip()
                        for cell in cells
                        if cell.row == row and cell.col < end and cell.col + cell.colspan > start and cell.text.strip()
                    ]
                    record[name] = clean_value("\n".join(texts))
                if any(record.values()):
                    if self.pdf and out and _continues(out[-1], record):
                        previous = out[-1]
                        for name, text in record.items():
                            if text:
                                previous[name] = _join_split(previous.get(name) or "", text)
                        continue
                    out.append({name: record.get(name) for name in headers})
            # The section ran to the table's end: a table split in two (by the clerk, or by a page break in a
            # PDF) goes on in the next block when that is a table of the same grid.
            following = self.grids.get(table + 1)
            if following is None or following.table.n_cols != grid.table.n_cols:
                return out
            table, grid, first, span_end = table + 1, following, 0, 0

    def schools(self) -> list[dict[str, str | None]]:
        """学校教育情况: one 院校名称/专业名称/主干课程 block per school (repeated in retyped forms), or a table."""
        names = self.hits.get("school.name", [])
        majors = self.hits.get("school.major", [])
        if (
            names
            and names[0].cell is not None
            and any(
                hit.table == names[0].table and hit.cell is not None and hit.cell.row == names[0].cell.row
                for hit in majors
            )
        ):
            header = names[0].cell
            # A zero-width stand-in for the label cell: the header row starts at 院校名称 itself.
            return self._rows_under(names[0].table, Cell(header.row, header.col, 1, 0, ""), _SCHOOL_HEADERS)
        hits = sorted(
            [*names, *majors, *self.hits.get("school.courses", [])],
            key=lambda hit: hit.order,
        )
        schools: list[dict[str, str | None]] = []
        current: dict[str, str | None] | None = None
        for hit in hits:
            part = hit.field.split(".")[1]
            if current is None or hit.field == "school.name" or part in current:
                current = {}
                schools.append(current)
            current[part] = self.value_at(hit)
        return [
            {part: school.get(part) for part in ("name", "major", "courses")}
            for school in schools
            if any(school.values())
        ]

    # --- the lines outside the tables ------------------------------------------------------------------------------
    def category(self) -> tuple[str | None, int]:
        ticked: list[str] = []
        for raw in self.texts:
            text = raw.translate(_SYMBOL_TICKS)
            if not any(word in text for word in ("职业", "工种", "调整")):
                continue
            checked, unchecked = ticked_options(text)
            if any(_category_of(option) for option in checked + unchecked):
                ticked.extend(option for option in checked if _category_of(option))
        kinds = [_category_of(option) for option in ticked]
        return (kinds[0] if len(kinds) == 1 else None), len(kinds)

    def signer(self) -> str | None:
        for position, text in enumerate(self.texts):
            normal = unicodedata.normalize("NFKC", text)
            match = _SIGNATURE.search(normal)
            if not match:
                continue
            rest = normal[match.end() :].split("\n")[0]
            for label in _DATE_LABELS:
                rest = rest.split(label)[0]
            has_seal = PICTURE in rest
            name = clean_value(rest.replace(PICTURE, "").replace("_", ""))
            if name:
                return name
            following = self.texts[position + 1] if position + 1 < len(self.texts) else ""
            if has_seal or (following.strip() and not following.replace(PICTURE, "").strip()):
                return SEAL
            if self.red_seals:
                return SEAL  # A PDF keeps no picture marker; its red round seal was counted on the rendered page.
            return None
        return None

    def fill_date(self) -> str | None:
        for text in self.texts:
            normal = unicodedata.normalize("NFKC", text)
            for label in _DATE_LABELS:
                if label not in normal:
                    continue
                raw = clean_value(re.sub(r"^\s*[:：]", "", normal.split(label, 1)[1].split("\n")[0]))
                if raw is None or is_blank_template(raw):
                    return None
                raw = raw.strip("_ ")
                parsed = parse_date(raw)
                return parsed.isoformat() if parsed else raw
        return None

    def province(self) -> str:
        for text in self.texts:
            if _key(text) in _GUANGDONG_KEYS or "新职业建议书" in text.replace(" ", ""):
                return "guangdong"
        return "shanghai"


def _header_of(text: str, keys: Mapping[str, str]) -> str | None:
    """A section's column for a header cell; a PDF may glue a neighbour's characters before it ("单单位位名称")."""
    key = _key(text)
    if key in keys:
        return keys[key]
    if not key:
        return None
    ends = [header for header in keys if key.endswith(header)]
    return keys[max(ends, key=len)] if ends else None


def _continues(previous: Mapping[str, str | None], record: Mapping[str, str | None]) -> bool:
    """Whether a PDF row is the tail of the row above, cut by a page break ("0731-" above "88886666").

    The row above has a value cut after a hyphen, and the tail fills no column the row above left blank.
    """
    cut = any(value and _DASH_END.search(value) for value in previous.values())
    return cut and all(previous.get(name) for name, value in record.items() if value)


def _category_of(option: str) -> str | None:
    """The contract's category for a tick-box label: 全新职业/新职业, 新工种, 调整变更职业(工种)信息."""
    if "调整" in option or "变更" in option:
        return "adjustment"
    if "工种" in option:
        return "new_work_type"
    if "职业" in option:
        return "new_occupation"
    return None


def extract_proposal(layout: Layout) -> dict[str, Any]:
    """The contract's ``new_occupation_proposal`` fields of a 建议书 layout (Word, PDF or a retyped copy).

    ``category_ticks`` counts the ticked category boxes so that the check can tell "none ticked" from "two
    ticked" (``category`` is null in both cases).
    """
    doc = _Document(layout)
    category, ticks = doc.category()
    foreign_main = doc.value("foreign.main_tasks")
    if foreign_main and _PLACEHOLDER.fullmatch(foreign_main):
        foreign_main = None  # The printed "1. 2. 3. 4. ..." left as it was.

    def group(prefix: str, names: tuple[str, ...]) -> dict[str, str | None]:
        return {name: doc.value(f"{prefix}.{name}") for name in names}

    contact = group("contact", ("address", "person", "phone", "email"))
    contact["phone"] = _contact_phone(doc)
    return {
        "category": category,
        "category_ticks": ticks,
        "name": doc.value("name"),
        "alt_names": doc.items("alt_names") or None,
        "definition": doc.value("definition"),
        "related_occupations": doc.value("related_occupations"),
        "industry": doc.value("industry"),
        "tasks": doc.section_rows("tasks", _TASK_HEADERS) or None,
        "requirements": group(
            "requirements", ("ethics", "education", "special_ability", "physique", "teamwork", "safety")
        ),
        "workforce": group("workforce", ("national_count", "distribution", "supply_demand", "salary", "data_source")),
        "employers": doc.section_rows("employers", _ORG_HEADERS) or None,
        "analysis": group("analysis", ("background", "role", "tech_change", "prospects")),
        "schools": doc.schools() or None,
        "training_orgs": doc.section_rows("training_orgs", _ORG_HEADERS) or None,
        "laws": doc.value("laws"),
        "foreign": {
            "regions": doc.items("foreign.regions") or None,
            "similar_names": doc.items("foreign.similar_names") or None,
            "main_tasks": foreign_main,
            "requirements": doc.value("foreign.requirements"),
            "standards": doc.value("foreign.standards"),
            "training": doc.value("foreign.training"),
        },
        "contact": contact,
        "other": doc.value("other"),
        "signer": doc.signer(),
        "fill_date": doc.fill_date(),
        "province": doc.province(),
    }


def _contact_phone(doc: _Document) -> str | None:
    """联系电话 of 九: the one beside 联系人, not a column header of the 用人单位 or 培训机构 tables."""
    person = doc.first("contact.person")
    phones = doc.hits.get("contact.phone", [])
    if person is not None and person.cell is not None:
        for hit in phones:
            if hit.table == person.table and hit.cell is not None and hit.cell.row == person.cell.row:
                return doc.value_at(hit)
    after = [hit for hit in phones if person is None or hit.order > person.order]
    return doc.value_at(after[0]) if after else None
