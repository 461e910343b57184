"""Which of the notices' forms a document is, and the layout reading every table-form extractor shares.

Applicants retype the forms: rows move, columns go, labels gain spaces and full-width punctuation, the title
moves into the page header or the first table row, "附件1" and "（参考）" come and go. So a form is recognised
the way a clerk recognises it: by its title when one line is exactly that title, and by the labels only that
form has. A cover letter that merely names a form ("现报送新职业信息建议书") has neither and stays ``unknown``.

The shared reading helpers live here too (``units``, ``label_value``, ``read_rows``, ``find_date`` …): the
extractors and the classifier look at a layout the same way, as a sequence of text units — paragraphs and
table cells in reading order — and as table rows under a recognised header.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zhengji.notices.registry import FormId
from zhengji.parsers.checks.dates import parse_date
from zhengji.parsers.forms.text import clean_value, label_key
from zhengji.parsers.model import PICTURE, Cell, Layout, Table

__all__ = [
    "DATE",
    "LIST_SEPARATORS",
    "Rows",
    "Unit",
    "classify",
    "find_date",
    "form_scores",
    "header_columns",
    "is_label",
    "key",
    "label_value",
    "norm",
    "parse_count",
    "read_rows",
    "row_texts",
    "seq_value",
    "split_list",
    "title_key",
    "units",
    "yes_no",
]


def _width_table() -> dict[int, str]:
    table = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
    # Brackets of other traditions read as round ones ("〔参考〕", "【参考模板】").
    table.update({ord(char): "(" for char in "【〔［〖"})
    table.update({ord(char): ")" for char in "】〕］〗"})
    table.update({ord("\u3000"): " ", ord(PICTURE): " ", ord("\xa0"): " "})
    return table


_WIDTH = _width_table()


def norm(text: str | None) -> str:
    """Full-width folded to half-width, one character for one, so that a match's positions in ``norm(text)``
    cut the same value out of ``text``: values are returned as the applicant typed them (the contract), only
    compared folded.
    """
    return (text or "").translate(_WIDTH)


def key(text: str | None) -> str:
    """A label as compared: :func:`label_key` after the bracket mapping."""
    return label_key(norm(text)).translate(_QUOTES)


_QUOTES = str.maketrans({"「": "", "」": "", "『": "", "』": "", "《": "", "》": ""})


# --- text units ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One paragraph, or one table cell (with its table, so that its right-hand neighbour can be read)."""

    text: str
    table: Table | None = None
    cell: Cell | None = None

    def right(self) -> Unit | None:
        """The cell to the right of this one in the same row, if any."""
        if self.table is None or self.cell is None:
            return None
        neighbour = self.table.at(self.cell.row, self.cell.col + self.cell.colspan)
        return Unit(neighbour.text, self.table, neighbour) if neighbour is not None else None

    def below(self) -> Unit | None:
        """The cell under this one, if any."""
        if self.table is None or self.cell is None:
            return None
        neighbour = self.table.at(self.cell.row + self.cell.rowspan, self.cell.col)
        return Unit(neighbour.text, self.table, neighbour) if neighbour is not None else None


def units(layout: Layout) -> list[Unit]:
    """Paragraphs and cells in reading order (cells row by row, each merged cell once)."""
    out: list[Unit] = []
    for block in layout.blocks:
        if isinstance(block, str):
            out.extend(Unit(line) for line in block.split("\n") if line.strip())
            continue
        for cell in sorted(block.cells, key=lambda c: (c.row, c.col)):
            if cell.text.strip():
                out.append(Unit(cell.text, block, cell))
    return out


# --- labels and values -----------------------------------------------------------------------------------

_NOT_LABEL_START = r"(?<![\u4e00-\u9fffA-Za-z0-9])"
_BLANKS = "_＿—-－ \t\u3000"


def _label_pattern(label: str, colon_required: bool) -> re.Pattern[str]:
    chars = [re.escape(char) for char in norm(label) if not char.isspace()]
    tail = r"[\s¹²³⁴⁵⁶⁷⁸⁹⁰①-⑳]*[:：]" if colon_required else r"[\s¹²³⁴⁵⁶⁷⁸⁹⁰①-⑳]*(?:[:：]|$)"
    return re.compile(_NOT_LABEL_START + r"\s*".join(chars) + tail)


def _value_end(normed: str, start: int, stops: Iterable[str], cut_date: bool) -> int:
    """Where a value that starts at ``start`` ends: at the next label of ``stops``, or at a date."""
    end = len(normed)
    for stop in stops:
        match = _label_pattern(stop, colon_required=True).search(normed, start)
        if match:
            end = min(end, match.start())
    if cut_date:
        date_match = DATE.search(normed, start, end)
        if date_match:
            end = date_match.start()
    return end


def _blank_to_none(value: str) -> str | None:
    value = value.replace(PICTURE, "").strip(_BLANKS)
    return clean_value(value.strip(_BLANKS))


def is_label(text: str, labels: Iterable[str]) -> bool:
    """True when ``text`` is (or starts with) one of ``labels`` followed by a colon or nothing."""
    stripped = norm(text).strip()
    return any(_label_pattern(label, colon_required=False).match(stripped) for label in labels)


def label_value(
    found: Sequence[Unit], labels: Sequence[str], stops: Sequence[str] = (), cut_date: bool = True
) -> str | None:
    """The value a form writes after a label: in the same line or cell, else in the cell to its right.

    ``stops`` are the other labels that may follow on the same line ("联系人：张三 联系电话：…"); the value ends
    where one of them begins. A label must be followed by a colon or end its cell, so that "推荐单位意见" is not
    read as "推荐单位" and "联系人及电话" is not read as "联系人".
    """
    others = [stop for stop in stops if stop not in labels]
    for unit in found:
        normed = norm(unit.text)
        for label in labels:
            match = _label_pattern(label, colon_required=False).search(normed)
            if match is None:
                continue
            value = _blank_to_none(unit.text[match.end() : _value_end(normed, match.end(), others, cut_date)])
            if value:
                return value
            neighbour = unit.right()
            if neighbour is not None and not is_label(neighbour.text, [*labels, *stops]):
                end = _value_end(norm(neighbour.text), 0, others, cut_date)
                value = _blank_to_none(neighbour.text[:end])
                if value:
                    return value
    return None


# --- dates, numbers, lists -------------------------------------------------------------------------------

_CN_DIGIT = "〇零○Ｏ一二三四五六七八九十"
DATE = re.compile(
    r"([0-9" + _CN_DIGIT + r"]{4})\s*年\s*([0-9" + _CN_DIGIT + r"]{1,3})\s*月\s*([0-9" + _CN_DIGIT + r"]{1,3})\s*[日号]"
    r"|(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})(?!\d)"
)


def first_date(free: list[Unit]) -> str | None:
    """The first date written anywhere outside the table (a retyped form may date it on a line of its own)."""
    return next((date for date in (find_date(unit.text)[0] for unit in free) if date), None)


def find_date(text: str | None) -> tuple[str | None, str]:
    """The first date in ``text`` as ``YYYY-MM-DD`` (or None), and ``text`` with that date removed."""
    source = text or ""
    for match in DATE.finditer(norm(source)):
        parsed = parse_date(match.group(0))
        if parsed is not None:
            return parsed.isoformat(), source[: match.start()] + source[match.end() :]
    return None, source


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_count(text: str | None) -> int | float | None:
    """A count as a number: "1000人" → 1000, "约3000人次" → 3000, "1,200" → 1200, "0.5万人次" → 5000."""
    source = norm(text).replace(",", "").replace("，", "")
    match = _NUMBER.search(source)
    if match is None:
        return None
    value = float(match.group(0))
    unit = source[match.end() : match.end() + 1]
    value *= {"万": 10000, "千": 1000, "百": 100}.get(unit, 1)
    return int(value) if value.is_integer() else value


# Separators of a list typed in one cell, and numbering ("1." "2、" "(3)") at the start of an item.
LIST_SEPARATORS = re.compile(r"(?:^|(?<=\s))\(?\d{1,2}\s*[.、)]\s*|[、,;；/\n]")


def split_list(text: str | None, separators: re.Pattern[str] = LIST_SEPARATORS) -> list[str]:
    """A list typed in one cell, split on ``separators``; items as typed, blanks dropped."""
    source = text or ""
    items: list[str] = []
    start = 0
    for match in separators.finditer(norm(source)):
        items.append(source[start : match.start()])
        start = match.end()
    items.append(source[start:])
    cleaned = (_blank_to_none(item) for item in items)
    return [item for item in cleaned if item]


def yes_no(text: str | None) -> bool | None:
    """是/否 as a boolean ("已纳入" true, "未纳入" false); None when the cell says neither."""
    folded = key(text)
    if not folded:
        return None
    if folded[0] in "否未无不没×" or folded.startswith("非"):
        return False
    if folded[0] in "是已有√✓✔":
        return True
    return None


def seq_value(text: str | None) -> int | str | None:
    """A 序号 as a number when it is one ("1", "1.0" from a spreadsheet), else as written."""
    value = clean_value(text)
    if value is None:
        return None
    try:
        number = float(norm(value).rstrip("."))
    except ValueError:
        return value
    return int(number) if number.is_integer() else value


# --- tables under a header ----------------------------------------------------------------------------


@dataclass
class Rows:
    """The data rows of a table form: one dict of raw cell texts per row, and the grid positions they used."""

    rows: list[dict[str, str | None]] = field(default_factory=list)
    used: set[tuple[int, int]] = field(default_factory=set)
    header: dict[str, int] = field(default_factory=dict)

    def uses(self, unit: Unit) -> bool:
        """True when ``unit`` is a cell of the header or of a data row."""
        return unit.table is not None and unit.cell is not None and (id(unit.table), unit.cell.row) in self.used


def _column_score(header: str, alias: str) -> int:
    header_key, alias_key = key(header), key(alias)
    if not header_key or not alias_key:
        return 0
    if header_key == alias_key:
        return 3000 + len(alias_key)
    if header_key.startswith(alias_key):
        return 2000 + len(alias_key)
    if len(alias_key) >= 4 and alias_key in header_key:
        return 1000 + len(alias_key)
    return 0


def header_columns(cells: Sequence[Cell], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Map each recognised header cell to its column key; each key takes its best-matching cell."""
    best: dict[str, tuple[int, int]] = {}
    for cell in cells:
        scores = [(_column_score(cell.text, alias), name) for name, names in aliases.items() for alias in names]
        score, name = max(scores, default=(0, ""))
        if score and (name not in best or best[name][0] < score):
            best[name] = (score, cell.col)
    return {name: col for name, (_score, col) in best.items()}


def _is_stop(cells: Sequence[Cell], stops: Sequence[str]) -> bool:
    first = next((cell for cell in cells if cell.text.strip()), None)
    return first is not None and any(key(first.text).startswith(key(stop)) for stop in stops)


def read_rows(layout: Layout, aliases: Mapping[str, Sequence[str]], min_keys: int, stops: Sequence[str] = ()) -> Rows:
    """The rows under the first header row naming at least ``min_keys`` of the columns in ``aliases``.

    Reading continues into the next tables with the same number of columns (a table split by a page break,
    as PDF exports give it), skips a repeated header, and ends at a row starting with one of ``stops``
    ("推荐意见", "备注"). Blank rows are dropped. A cell merged down over several rows is read for each row.
    In a PDF, a row without a 序号 under a numbered row is the numbered row's continuation.
    """
    result = Rows()
    width: int | None = None
    # A PDF table's row whose cells wrap across a page break, or that the text layer splits, comes back as
    # a row without its 序号 under the numbered row it belongs to.
    spill = layout.format == "pdf" and "seq" in aliases
    for table in layout.tables:
        start = 0
        if width is None:
            for row_index in range(table.n_rows):
                columns = header_columns(table.row(row_index), aliases)
                if len(columns) >= min_keys:
                    result.header, width, start = columns, table.n_cols, row_index + 1
                    result.used.add((id(table), row_index))
                    break
            if width is None:
                continue
        elif table.n_cols != width:
            break
        for row_index in range(start, table.n_rows):
            cells = table.row(row_index)
            if _is_stop(cells, stops):
                return result
            if len(header_columns(cells, aliases)) >= min_keys:
                result.used.add((id(table), row_index))
                continue
            values: dict[str, str | None] = {}
            for name, col in result.header.items():
                cell = table.at(row_index, col)
                values[name] = clean_value(cell.text.replace(PICTURE, "")) if cell is not None else None
            result.used.add((id(table), row_index))
            if not any(value for name, value in values.items() if name != "seq"):
                continue
            if spill and result.rows and not values.get("seq") and result.rows[-1].get("seq"):
                _join_spill(result.rows[-1], values)
            else:
                result.rows.append(values)
    return result


def _join_spill(previous: dict[str, str | None], spill: dict[str, str | None]) -> None:
    """Append a wrapped row's texts to the row it continues (lines of one cell, so no separator)."""
    for name, value in spill.items():
        if value:
            previous[name] = (previous.get(name) or "") + value


def row_texts(unit: Unit) -> str:
    """The text of every other cell sharing the rows of ``unit``'s cell (a label cell's value cells)."""
    if unit.table is None or unit.cell is None:
        return ""
    rows = range(unit.cell.row, unit.cell.row + unit.cell.rowspan)
    parts = [
        cell.text
        for cell in sorted(unit.table.cells, key=lambda c: (c.row, c.col))
        if cell != unit.cell and any(cell.row <= row < cell.row + cell.rowspan for row in rows)
    ]
    return "\n".join(part for part in parts if part.strip())


# --- classification -------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^附件[0-9一二三四五六七八九十]*[:.、]?")
# Any short bracketed tail: "（参考）", "（参考模板）", "（xx 地市）", "（广州市人力资源和社会保障局）".
_SUFFIX = re.compile(r"(\([^()]{0,24}\))+$")


def title_key(text: str) -> str:
    """A line as a title: folded, "附件1" and "（参考模板）"/"（xx地市）" removed, punctuation dropped."""
    folded = key(text)
    folded = _PREFIX.sub("", folded)
    folded = _SUFFIX.sub("", folded)
    return "".join(char for char in folded if not unicodedata.category(char).startswith("P") or char in "()")


@dataclass(frozen=True)
class _Profile:
    """How a clerk knows one form: its title lines, and label groups (any alias of a group counts once)."""

    form: FormId
    titles: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    # Labels found without a recognised title that still make the form certain.
    enough: int


_PROFILES = (
    _Profile(
        FormId.new_occupation_proposal,
        (r"新职业信息建议书", r"新职业建议书"),
        (
            ("新职业类别", "申报类别"),
            ("新职业名称", "职业(工种)名称"),
            ("新职业定义", "职业(工种)定义"),
            ("主要工作任务",),
            ("从业要求",),
            ("从业人员情况",),
            ("职业分析", "职业(工种)分析"),
            ("职业教育与培训情况", "职业(工种)教育与培训情况"),
            ("国外相关情况",),
            ("建议人情况", "联系信息"),
        ),
        4,
    ),
    _Profile(
        FormId.new_occupation_summary,
        (r"新职业汇总表", r"新职业信息汇总表"),
        (
            ("新职业建议单位", "建议单位"),
            ("新职业名称", "职业(工种)名称"),
            ("推荐单位意见",),
            ("地市是否有初审", "是否有初审"),
            ("联系人及电话",),
            ("填表人及联系方式",),
            ("填报时间",),
            ("申报单位",),
            ("序号",),
        ),
        3,
    ),
    _Profile(
        FormId.skill_level_recommendation,
        (r"社会化职业技能等级认定职业\(工种\)推荐表", r"职业技能等级认定职业\(工种\)推荐表"),
        (
            ("职业编码",),
            ("国家职业技能标准名称", "国家职业标准名称"),
            ("国家职业技能标准版本", "国家职业标准版本"),
            ("是否已纳入急需紧缺职业目录", "是否纳入急需紧缺职业目录"),
            ("预计评价人次",),
            ("工种",),
        ),
        3,
    ),
    _Profile(
        FormId.evaluator_recommendation_letter,
        (r"关于推荐.+成为评价机构的函",),
        (
            ("此段请勿更改",),
            ("经研究决定我单位同意推荐",),
            ("成为评价机构",),
            ("职业技能等级认定工作",),
            ("主管部门(盖章)",),
            ("以上推荐望予支持",),
        ),
        3,
    ),
    _Profile(
        FormId.special_ability_summary,
        (r"专项职业能力考核项目(及考核机构)?推荐汇总表",),
        (
            ("所属领域及代码",),
            ("拟承担评价任务的考核机构",),
            ("预计考核人次",),
            ("项目名称",),
            ("推荐意见",),
        ),
        2,
    ),
    _Profile(
        FormId.special_ability_proposal,
        (r"专项职业能力考核项目(及考核机构)?建议书",),
        (("考核项目推荐情况",), ("考核机构推荐情况", "拟承担评价任务的考核机构推荐情况")),
        2,
    ),
    _Profile(
        FormId.special_ability_content,
        (r".{0,40}主要考核内容",),
        (
            ("能力名称",),
            ("所属领域",),
            ("工作任务",),
            ("操作规范",),
            ("相关知识",),
            ("考核比重",),
            ("能力标准与评价内容", "能力标准和考核内容", "能力标准和评价内容", "能力标准与考核内容"),
        ),
        4,
    ),
)

# Labels are compared without their numbering ("一、", "（二）", "1.") and without punctuation, so that a
# heading typed "二、 职业分析：" and a phrase in a sentence ("经研究决定，我单位同意推荐") both count.
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|\d+[、.]|\([一二三四五六七八九十\d]+\))")


def _bare(text: str) -> str:
    folded = _NUMBERING.sub("", key(text))
    return "".join(char for char in folded if not unicodedata.category(char).startswith("P") or char in "()")


def _label_found(bare_units: Sequence[str], phrase_text: str, aliases: Sequence[str]) -> bool:
    for alias in aliases:
        wanted = _bare(alias)
        if len(wanted) >= 6 and wanted in phrase_text:
            return True
        if any(unit.startswith(wanted) for unit in bare_units):
            return True
    return False


def form_scores(layout: Layout) -> dict[FormId, tuple[bool, int]]:
    """For each form: whether a line is its title, and how many of its label groups appear."""
    found = units(layout)
    bare_units = [_bare(unit.text) for unit in found]
    phrase_text = "".join(bare_units)
    titles = {title_key(unit.text) for unit in found if len(key(unit.text)) <= 60}
    scores: dict[FormId, tuple[bool, int]] = {}
    for profile in _PROFILES:
        has_title = any(re.fullmatch(pattern, title) for pattern in profile.titles for title in titles)
        count = sum(_label_found(bare_units, phrase_text, aliases) for aliases in profile.labels)
        scores[profile.form] = (has_title, count)
    return scores


def classify(layout: Layout) -> FormId:
    """The contract's form id of ``layout``: a title plus one label, or enough labels alone; else ``unknown``."""
    best: tuple[int, FormId] = (0, FormId.unknown)
    enough = {profile.form: profile.enough for profile in _PROFILES}
    for form, (has_title, count) in form_scores(layout).items():
        if not ((has_title and count >= 1) or count >= enough[form]):
            continue
        score = (10 if has_title else 0) + count
        if score > best[0]:
            best = (score, form)
    return best[1]
