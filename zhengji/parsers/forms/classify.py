"""Which of the notices' forms a document is, and the layout reading every table-form extractor shares.

Applicants retype the forms: rows move, columns go, labels gain spaces and full-width punctuation, the title
moves into the page header or the first table row, "附件1" and "（参考）" come and go. So a form is recognised
the way a clerk recognises it: by its title when one line is that title (after a place, a year, a unit's name
or "关于…的", before a bracketed tail, or spelled nearly so), and by the labels only that form has, as printed
or reworded (:mod:`lexicon`). A cover letter that merely names a form ("现报送新职业信息建议书") has neither and
stays ``unknown``.

The shared reading helpers live here too (``units``, :class:`LineLabels`, ``read_rows``, ``find_date`` …): the
extractors and the classifier look at a layout the same way, as a sequence of text units — paragraphs and
table cells in reading order — and as table rows under a recognised header.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from rapidfuzz import fuzz

from zhengji.notices.forms import form_specs
from zhengji.notices.registry import FormId
from zhengji.parsers.checks.dates import parse_date
from zhengji.parsers.checks.phones import is_phone
from zhengji.parsers.forms.lexicon import is_stamp_label, match_header, without_stamp
from zhengji.parsers.forms.matching import LabelIndex, score, thresholds
from zhengji.parsers.forms.text import clean_value, label_key
from zhengji.parsers.forms.wording import MARKS_BETWEEN
from zhengji.parsers.model import PICTURE, Cell, Layout, Table

__all__ = [
    "DATE",
    "LIST_SEPARATORS",
    "SAMPLE_MARKS",
    "LineLabels",
    "Rows",
    "Unit",
    "classify",
    "find_date",
    "first_date",
    "form_lines",
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
    "weighted_task_rows",
    "weighted_task_table",
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
# Marks typed before a label ("*联系人：", "※联系电话："): they belong to the label, not to the value before it.
_LEADING_MARKS = "*＊※★☆▲△●◆■ \t\u3000"
# What separates a label typed after a value on the same line from that value.
_TOKEN_BREAKS = frozenset(" \t\u3000,，;；。")
_MAX_TOKEN = 30


@lru_cache(maxsize=1024)
def _label_pattern(label: str, colon_required: bool) -> re.Pattern[str]:
    """A label in a line: spaces between its characters, then any footnote marks or fill-in markers, then a
    colon, a line break inside the cell ("能力名称⏎项目名"), or (unless ``colon_required``) the end."""
    chars = [re.escape(char) for char in norm(label) if not char.isspace()]
    tail = MARKS_BETWEEN + (r"[:：]" if colon_required else r"(?:[:：]|(?=\n)|$)")
    return re.compile(_NOT_LABEL_START + r"\s*".join(chars) + tail)


def _tokens(normed: str) -> list[tuple[int, int, int]]:
    """(start, end, value start) of each "LABEL：" in a line, the label being the words before the colon."""
    found: list[tuple[int, int, int]] = []
    for colon in re.finditer(r"[:：]", normed):
        end = colon.start()
        while end > 0 and normed[end - 1] in " \t\u3000":
            end -= 1
        start = end
        while start > 0 and normed[start - 1] not in _TOKEN_BREAKS and end - start < _MAX_TOKEN:
            start -= 1
        if end - start >= 2 and (start == 0 or normed[start - 1] in _TOKEN_BREAKS):
            found.append((start, end, colon.end()))
    return found


def _back_over_marks(normed: str, position: int, start: int) -> int:
    """Move the end of a value back over the marks that open the next label ("上海市民政局 *联系人：")."""
    while position > start and normed[position - 1] in _LEADING_MARKS:
        position -= 1
    return position


def _is_new_label(token: str) -> bool:
    """A short word before a colon inside a value's line is the next label ("联系人姓名：", "地址：")."""
    folded = label_key(token)
    return 2 <= len(folded) <= 12 and not any(char.isdigit() for char in folded)


def _value_end(normed: str, start: int, stops: Iterable[str], cut_date: bool) -> int:
    """Where a value that starts at ``start`` ends: at the next label (one of ``stops``, or any short word before
    a colon after a space), with the marks that open that label; or at a date."""
    end = len(normed)
    for stop in stops:
        match = _label_pattern(stop, colon_required=True).search(normed, start)
        if match:
            end = min(end, match.start())
    for token_start, token_end, _value in _tokens(normed):
        if token_start > start and _is_new_label(normed[token_start:token_end]):
            end = min(end, token_start)
            break
    end = _back_over_marks(normed, end, start) if end < len(normed) else end
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


# The head nouns of a phone field's label, and how long an unknown label before a phone number may be.
_PHONE_HEADS = ("电话", "手机")
_MAX_PHONE_LABEL = 6


# A label cell's words: a few characters of text, no digits, no sentence.
_LABEL_SHAPED = re.compile(r"[\u4e00-\u9fffA-Za-z()/]{2,12}")


def _label_value_pairs(unit: Unit) -> list[tuple[Unit, Unit]]:
    """The (label, value) cells of ``unit``'s row when ``unit`` starts a row typed "label | value | label |
    value", else nothing."""
    if unit.table is None or unit.cell is None or unit.cell.col != 0:
        return []
    cells = [cell for cell in unit.table.row(unit.cell.row) if cell.row == unit.cell.row]
    if len(cells) < 4 or len(cells) % 2 or any(not cell.text.strip() for cell in cells):
        return []
    row = [Unit(cell.text, unit.table, cell) for cell in cells]
    return list(zip(row[::2], row[1::2], strict=True))


class LineLabels:
    """The labels of a form's lines and label cells ("推荐单位（加盖公章）：…", "联系人 | 张三"), by field.

    A value is looked for first after one of its field's own wordings (exactly, spaces and marks allowed), then
    after any label the applicant reworded, read through one :class:`matching.LabelIndex` of all the fields
    together so that a label is given to the field it clearly reads as ("本单位联系人", "联系人（办公室）",
    "推荐部门（盖章）"). A label asking for a stamp ("（盖章）") names one of the ``signature`` fields when one reads
    near enough. A value ends where the next label begins, reworded or not.
    """

    def __init__(self, groups: Mapping[str, Sequence[str]], signature: Iterable[str] = ()) -> None:
        self.groups = {name: tuple(texts) for name, texts in groups.items()}
        self.lexicon = LabelIndex.for_headers(self.groups)
        self.signature = frozenset(signature) & self.groups.keys()
        self.wordings = tuple(dict.fromkeys(text for texts in self.groups.values() for text in texts))

    def field_of(self, label: str) -> str | None:
        """The field a label reads as, or None."""
        if self.signature and is_stamp_label(label):
            # Words before the stamp request that are another field's own label name that field, signed
            # ("推荐单位意见（签章）" is the opinion, not the 推荐单位).
            plain = self.lexicon.exact.get(without_stamp(label))
            if plain is not None:
                return plain
            signed = self.lexicon.field_of(label, among=self.signature)
            if signed is not None:
                return signed
        return self.lexicon.field_of(label)

    def _is_label(self, text: str) -> bool:
        return is_label(text, self.wordings) or self.field_of(text) is not None

    def _others(self, name: str) -> list[str]:
        own = set(self.groups[name])
        return [text for text in self.wordings if text not in own]

    def value(self, found: Sequence[Unit], name: str, cut_date: bool = True) -> str | None:
        """The value of field ``name``: after its label in the same line or cell, else in the cell to its right."""
        others = self._others(name)
        for unit in found:
            normed = norm(unit.text)
            for label in self.groups[name]:
                match = _label_pattern(label, colon_required=False).search(normed)
                if match is not None:
                    value = self._after(unit, normed, match.end(), others, cut_date)
                    if value:
                        return value
        for unit in found:
            normed = norm(unit.text)
            for start, end, value_start in self._candidates(unit, normed):
                if self.field_of(normed[start:end]) == name:
                    value = self._after(unit, normed, value_start, others, cut_date) or self._glued(
                        unit, normed, name, others, cut_date
                    )
                    if value:
                        return value
        if self._phone(name):
            return self._phone_line(found, others, cut_date)
        return None

    def values_in_row(self, found: Sequence[Unit], names: Sequence[str]) -> dict[str, str | None]:
        """The values of fields ``names`` that share one table row typed "label | value | label | value", by
        position where words fail: when every label cell of the row but one reads as its field and one of
        ``names`` is left, the odd label cell is that field ("能力名 | 失智老年人照护 | 职业领域 | 生活照料…"
        once 能力名 is read). Fields read by their words keep their :meth:`value`."""
        read = {name: self.value(found, name) for name in names}
        missing = [name for name in names if not read[name]]
        if len(missing) != 1:
            return read
        for unit in found:
            pairs = _label_value_pairs(unit)
            if len(pairs) != len(names):
                continue
            fields = [self.field_of(label.text) for label, _value in pairs]
            unread = [index for index, field in enumerate(fields) if field is None]
            if len(unread) == 1 and sorted(field for field in fields if field) == sorted(set(names) - {missing[0]}):
                label, value = pairs[unread[0]]
                if _LABEL_SHAPED.fullmatch(label_key(label.text)):
                    read[missing[0]] = _blank_to_none(value.text)
                return read
        return read

    def _phone(self, name: str) -> bool:
        """A phone field: the head noun of one of its wordings is 电话 or 手机 (a compound ends with its head
        noun)."""
        return any(label_key(wording).endswith(_PHONE_HEADS) for wording in self.groups[name])

    def _phone_line(self, found: Sequence[Unit], others: Sequence[str], cut_date: bool) -> str | None:
        """A phone field whose label is in words of no field ("Tel：021-…"): the one line whose short label names
        no field of the form and whose value is a phone number."""
        values: list[str] = []
        for unit in found:
            normed = norm(unit.text)
            for start, end, value_start in self._candidates(unit, normed):
                label = normed[start:end]
                if len(label_key(label)) > _MAX_PHONE_LABEL or self._is_label(label):
                    continue
                value = self._after(unit, normed, value_start, others, cut_date)
                if value and is_phone(value):
                    values.append(value)
        return values[0] if len(set(values)) == 1 else None

    def _glued(self, unit: Unit, normed: str, name: str, others: Sequence[str], cut_date: bool) -> str | None:
        """A cell holding a label and its value with nothing between them ("能力名称" and the name on two lines of
        one cell, joined by a PDF's text layer): the value is what follows the printed label."""
        if unit.cell is None:
            return None
        stripped = normed.lstrip()
        offset = len(normed) - len(stripped)
        for label in self.groups[name]:
            chars = [re.escape(char) for char in norm(label) if not char.isspace()]
            match = re.compile(r"\s*".join(chars) + MARKS_BETWEEN).match(stripped)
            if match is None:
                continue
            rest = stripped[match.end() :]
            if not rest.strip() or rest.lstrip()[0] in "([{:：" or self._is_label(rest):
                continue
            start = offset + match.end()
            return _blank_to_none(unit.text[start : _value_end(normed, start, others, cut_date)])
        return None

    def located(self, found: Sequence[Unit], name: str) -> bool:
        """Whether the label of ``name`` is in the document at all, as printed or reworded."""
        for unit in found:
            normed = norm(unit.text)
            if any(_label_pattern(label, colon_required=False).search(normed) for label in self.groups[name]):
                return True
            if any(self.field_of(normed[start:end]) == name for start, end, _value in self._candidates(unit, normed)):
                return True
        return False

    def value_places(self, found: Sequence[Unit], name: str) -> list[str]:
        """The text standing where the value of ``name`` goes, once for each place :meth:`located` finds its label,
        picture marks kept (a seal beside a stamp label is what stands there).

        A label found says only that the place is in the document; a blank reading is the applicant's blank only
        when that place is empty. The place is the rest of the label's line up to the next label; for a label
        that ends its cell, the cell to its right, or the one below it where there is no right-hand cell or that
        cell is another label; for a label that ends its line, a picture alone on the next line (a seal).
        """
        others = self._others(name)
        places: list[str] = []
        for position, unit in enumerate(found):
            normed = norm(unit.text)
            starts = [
                match.end()
                for label in self.groups[name]
                if (match := _label_pattern(label, colon_required=False).search(normed)) is not None
            ]
            starts += [
                value_start
                for start, end, value_start in self._candidates(unit, normed)
                if self.field_of(normed[start:end]) == name
            ]
            places += [self._place(found, position, normed, start, others) for start in dict.fromkeys(starts)]
        return places

    def _place(self, found: Sequence[Unit], position: int, normed: str, start: int, others: Sequence[str]) -> str:
        """The text at the value place of a label ending at ``start`` of ``found[position]``."""
        unit = found[position]
        # ``norm`` reads a picture mark as a space; the place keeps it.
        if normed[start:].strip() or PICTURE in unit.text[start:]:
            return unit.text[start : _value_end(normed, start, others, cut_date=True)]
        if unit.cell is None:
            following = found[position + 1] if position + 1 < len(found) else None
            if following is not None and following.cell is None and not following.text.replace(PICTURE, "").strip():
                return following.text
            return ""
        for neighbour in (unit.right(), unit.below()):
            if neighbour is not None and not self._is_label(neighbour.text):
                return neighbour.text[: _value_end(norm(neighbour.text), 0, others, cut_date=True)]
        return ""

    def label_rest(self, unit: Unit, name: str) -> str | None:
        """When ``unit`` starts with the label of ``name`` (as printed, marks and markers included, or reworded):
        the text after it; else None. For a label cell whose value fills the rest of its row ("推荐单位意见")."""
        normed = norm(unit.text)
        stripped = normed.lstrip()
        offset = len(normed) - len(stripped)
        for label in self.groups[name]:
            match = _label_pattern(label, colon_required=False).match(stripped)
            if match is not None:
                return unit.text[offset + match.end() :]
        for start, end, value_start in self._candidates(unit, normed):
            if not normed[:start].strip() and self.field_of(normed[start:end]) == name:
                return unit.text[value_start:]
        return None

    @staticmethod
    def _candidates(unit: Unit, normed: str) -> list[tuple[int, int, int]]:
        """Where a reworded label may stand: before a colon, as a whole short cell, as a cell's first line."""
        found = _tokens(normed)
        if unit.cell is not None:
            stripped = normed.strip()
            first, _, rest = stripped.partition("\n")
            if not rest and len(label_key(stripped)) <= _MAX_TOKEN and ":" not in stripped:
                offset = normed.find(stripped)
                found.append((offset, offset + len(stripped), offset + len(stripped)))
            elif rest and len(label_key(first)) <= _MAX_TOKEN and ":" not in first:
                offset = normed.find(first)
                found.append((offset, offset + len(first), offset + len(first)))
        return found

    def _after(self, unit: Unit, normed: str, start: int, others: Sequence[str], cut_date: bool) -> str | None:
        """The value after a label ending at ``start``; a label that ends its cell takes the cell to the right."""
        value = _blank_to_none(unit.text[start : _value_end(normed, start, others, cut_date)])
        if value:
            return value
        if normed[start:].strip():
            return None
        neighbour = unit.right()
        if neighbour is None or self._is_label(neighbour.text):
            return None
        return _blank_to_none(neighbour.text[: _value_end(norm(neighbour.text), 0, others, cut_date)])


def form_lines(form: FormId, names: Sequence[str]) -> LineLabels:
    """The line labels of fields ``names`` of ``form``, with every wording the form data accepts for them."""
    spec = form_specs()[form]
    groups = {name: spec.wordings_of(name) for name in names}
    signed = [name for name in names if (found := spec.field(name)) is not None and found.kind == "signature"]
    return LineLabels(groups, signature=signed)


@lru_cache(maxsize=256)
def _line_labels(labels: tuple[str, ...], stops: tuple[str, ...]) -> LineLabels:
    groups: dict[str, tuple[str, ...]] = {"": labels}
    groups.update({stop: (stop,) for stop in stops if stop not in labels})
    return LineLabels(groups)


def label_value(
    found: Sequence[Unit], labels: Sequence[str], stops: Sequence[str] = (), cut_date: bool = True
) -> str | None:
    """The value a form writes after a label: in the same line or cell, else in the cell to its right.

    ``stops`` are the other labels that may follow on the same line ("联系人：张三 联系电话：…"); the value ends
    where one of them, or any other short label with a colon, begins. A label must be followed by a colon or
    end its cell, so that "推荐单位意见" is not read as "推荐单位" and "联系人及电话" is not read as "联系人".
    Forms with several line labels use :class:`LineLabels` with their fields' wordings instead.
    """
    return _line_labels(tuple(labels), tuple(stops)).value(found, "", cut_date)


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
    found: bool = False

    def uses(self, unit: Unit) -> bool:
        """True when ``unit`` is a cell of the header or of a data row."""
        return unit.table is not None and unit.cell is not None and (id(unit.table), unit.cell.row) in self.used


def header_columns(cells: Sequence[Cell], aliases: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Map each recognised header cell to its column key (see :func:`lexicon.match_header`)."""
    return match_header(cells, aliases).columns


# The template's sample row ("样例 | 软件和信息技术服务人员 4-04-05 | …") is an example, not a row.
SAMPLE_MARKS = frozenset({"样例", "示例", "例", "样表", "填写样例", "填表样例", "举例", "范例"})


def _first_text(cells: Sequence[Cell]) -> str:
    return next((cell.text for cell in cells if cell.text.strip()), "")


def _is_sample(cells: Sequence[Cell]) -> bool:
    return label_key(_first_text(cells)) in SAMPLE_MARKS


def _is_stop(cells: Sequence[Cell], stops: Sequence[str]) -> bool:
    """A row that starts with one of ``stops`` ("推荐意见", "备注"), or with a near wording of one on the one scale
    (``stop_threshold``: "推荐单位审查意见", "上级主管部门推荐意见", words put inside it)."""
    first = label_key(_first_text(cells))
    if not first:
        return False
    threshold = thresholds().stop_threshold
    for stop in stops:
        wanted = label_key(stop)
        if first.startswith(wanted):
            return True
        if len(first) <= 16 and score(first, wanted) >= threshold:
            return True
    return False


def read_rows(layout: Layout, aliases: Mapping[str, Sequence[str]], min_keys: int, stops: Sequence[str] = ()) -> Rows:
    """The rows under the first header row naming at least ``min_keys`` of the columns in ``aliases``.

    Reading continues into the next tables with the same number of columns (a table split by a page break,
    as PDF exports give it), skips a repeated header and the template's sample row, and ends at a row starting
    with one of ``stops`` ("推荐意见", "备注"). Blank rows are dropped. A cell merged down over several rows is
    read for each row. In a PDF, a row without a 序号 under a numbered row is the numbered row's continuation.
    """
    result = Rows()
    width: int | None = None
    header_row: list[Cell] = []
    numbered_checked = False
    # A PDF table's row whose cells wrap across a page break, or that the text layer splits, comes back as
    # a row without its 序号 under the numbered row it belongs to.
    spill = layout.format == "pdf" and "seq" in aliases
    for table in layout.tables:
        start = 0
        if width is None:
            for row_index in range(table.n_rows):
                header = match_header(table.row(row_index), aliases)
                if header.is_header(min_keys):
                    result.header, width, start = header.columns, table.n_cols, row_index + 1
                    header_row = table.row(row_index)
                    result.found = True
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
            if not numbered_checked:
                numbered_checked = True
                _number_column(table, start, result.header, aliases)
            if _misaligned(table, row_index, header_row, result.header):
                # A row whose one cell runs across columns the header keeps apart is not a row of this table (a
                # footer such as "主管部门意见 | …" in words not listed): its cells are left to the line labels,
                # never read as a row with blank cells that the applicant would be asked to fill.
                continue
            result.used.add((id(table), row_index))
            if _is_sample(cells) or match_header(cells, aliases).is_header(min_keys):
                continue
            values: dict[str, str | None] = {}
            for name, col in result.header.items():
                cell = table.at(row_index, col)
                values[name] = clean_value(cell.text.replace(PICTURE, "")) if cell is not None else None
            if not any(value for name, value in values.items() if name != "seq"):
                continue
            if spill and result.rows and not values.get("seq") and result.rows[-1].get("seq"):
                _join_spill(result.rows[-1], values)
            else:
                result.rows.append(values)
    return result


def _number_column(table: Table, start: int, header: dict[str, int], aliases: Mapping[str, Sequence[str]]) -> None:
    """The row number column read by its cells when its header is in words never seen ("项次"): the one unnamed
    column whose cells under the header count 1, 2, 3 … is the table's 序号."""
    if "seq" not in aliases or "seq" in header:
        return
    named = set(header.values())
    found: list[int] = []
    for col in range(table.n_cols):
        if col in named:
            continue
        numbers = [
            _count(cell.text)
            for row in range(start, table.n_rows)
            if (cell := table.at(row, col)) and cell.text.strip()
        ]
        numbers = [number for number in numbers if number is not None] if len(numbers) > 1 else []
        if len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1)):
            found.append(col)
    if len(found) == 1:
        header["seq"] = found[0]


def _count(text: str) -> int | None:
    """A row number as typed ("1", "1.", "（1）"), or None."""
    match = re.fullmatch(r"[(（]?\s*(\d{1,3})\s*[)）.、．]?", text.strip())
    return int(match.group(1)) if match else None


def _misaligned(table: Table, row: int, header_row: Sequence[Cell], header: Mapping[str, int]) -> bool:
    """Whether one filled cell of ``row`` covers two columns that the header names in cells of their own: the
    cell structure of the row does not match the header's, so the row is doubted rather than read as a row."""
    header_cells = {col: next((cell for cell in header_row if cell.col <= col < cell.col + cell.colspan), None)
                    for col in set(header.values())}  # fmt: skip
    covered: dict[int, list[int]] = {}
    for col in sorted(set(header.values())):
        cell = table.at(row, col)
        if cell is not None and cell.text.strip():
            covered.setdefault(id(cell), []).append(col)
    return any(
        len({id(header_cells[col]) for col in cols if header_cells[col] is not None}) > 1 for cols in covered.values()
    )


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
# Words that make a line before a form's title a sentence about the form, not its title ("现报送新职业汇总表").
_SENDING = ("报送", "提交", "上报", "呈报", "送达", "附上", "现将", "现报", "请查收", "如下", "填写说明", "填表说明")
# Another form named in the words before a title: a list of forms ("新职业汇总表和新职业建议书").
_OTHER_FORM = ("表", "书", "函", "主要考核内容")
_MAX_TITLE_PREFIX = 24
_TITLE_SIMILARITY = 88


def title_key(text: str) -> str:
    """A line as a title: folded, "附件1" and "（参考模板）"/"（xx地市）" removed, punctuation dropped."""
    folded = key(text)
    folded = _PREFIX.sub("", folded)
    folded = _SUFFIX.sub("", folded)
    return "".join(char for char in folded if not unicodedata.category(char).startswith("P") or char in "()")


def _title_prefix(prefix: str) -> bool:
    """Words a title may start with: a place, a year, a unit's or a project's name, "关于…的"."""
    if len(prefix) > _MAX_TITLE_PREFIX:
        return False
    return not any(word in prefix for word in (*_SENDING, *_OTHER_FORM))


def _is_title(title: str, patterns: Sequence[str], printed: Sequence[str]) -> bool:
    """Whether a title line is the form's title: one of its patterns, after words such as a place, a year or
    "关于…的" ("上海市新职业汇总表", "2025年社会化…推荐表"), or a near spelling of its printed title."""
    if not title or title[-1] not in _title_endings(tuple(patterns), tuple(printed)):
        return False  # every title ends as its form's title ends (…书, …表, …函, …内容): most lines are values
    for pattern in patterns:
        if re.fullmatch(pattern, title):
            return True
        for match in re.finditer(f"(?:{pattern})$", title):
            if _title_prefix(title[: match.start()]):
                return True
    for wanted in printed:
        # A near spelling still ends as the form's title ends ("…汇总表", "…建议书"): "新职业建议单位" is a column.
        if len(wanted) < 6 or len(title) < len(wanted) - 3 or not title.endswith(wanted[-2:]):
            continue
        if fuzz.ratio(wanted, title) >= _TITLE_SIMILARITY:
            return True  # the whole title with a word left out or changed ("…考核项目及机构建议书")
        found = fuzz.partial_ratio_alignment(wanted, title)
        if found is None or found.score < _TITLE_SIMILARITY:
            continue
        # The window is the printed title's length: a reworded title may run two characters past it.
        if len(title) - found.dest_end <= 2 and _title_prefix(title[: found.dest_start]):
            return True
    return False


@cache
def _title_endings(patterns: tuple[str, ...], printed: tuple[str, ...]) -> frozenset[str]:
    """The characters a title of the form can end with: its printed titles' last, and the last characters of
    its patterns (a final group such as "(书|表)" gives each)."""
    endings = {title[-1] for title in printed if title}
    for pattern in patterns:
        endings.update(re.findall(r"[\u4e00-\u9fff]", pattern[-8:]))
    return frozenset(endings)


@dataclass(frozen=True)
class _Profile:
    """How a clerk knows one form: its title lines, and label groups (any alias of a group counts once)."""

    form: FormId
    titles: tuple[str, ...]
    printed: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    # Labels found without a recognised title that still make the form certain.
    enough: int
    lexicon: LabelIndex


@cache
def _profiles() -> tuple[_Profile, ...]:
    """Each form's title patterns and distinctive label groups, from the form data."""
    profiles = []
    for form, spec in form_specs().items():
        groups = {name: spec.wordings_of(name) for name in spec.distinctive}
        printed = tuple(title_key(title) for title in (spec.title, spec.guangdong_title) if title)
        profiles.append(
            _Profile(
                form,
                spec.title_patterns,
                printed,
                tuple(groups.values()),
                spec.enough,
                LabelIndex.for_headers(groups, form.value),
            )
        )
    return tuple(profiles)


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


# Distinctive labels are short; longer texts are values, sentences or titles, never one of them reworded.
_MAX_DISTINCTIVE = 24


def _label_keys(found: Sequence[Unit]) -> list[str]:
    """The texts that may be labels, folded: short lines and cells, a cell's first line, the words before a colon."""
    texts: list[str] = []
    for unit in found:
        normed = norm(unit.text).strip()
        first = normed.split("\n", 1)[0]
        texts.extend((normed, first))
        texts.extend(normed[start:end] for start, end, _value in _tokens(normed))
    keys = (label_key(text) for text in dict.fromkeys(texts))
    return [key for key in dict.fromkeys(keys) if 0 < len(key) <= _MAX_DISTINCTIVE]


def form_scores(layout: Layout) -> dict[FormId, tuple[bool, int]]:
    """For each form: whether a line is its title, and how many of its label groups appear (as printed, or
    reworded near enough to one group and clearly nearer to it than to the form's other groups)."""
    found = units(layout)
    bare_units = [_bare(unit.text) for unit in found]
    phrase_text = "".join(bare_units)
    titles = {title_key(unit.text) for unit in found if len(key(unit.text)) <= 60}
    candidates = _label_keys(found)
    scores: dict[FormId, tuple[bool, int]] = {}
    for profile in _profiles():
        has_title = any(_is_title(title, profile.titles, profile.printed) for title in titles)
        named = {index for index, labels in enumerate(profile.labels) if _label_found(bare_units, phrase_text, labels)}
        groups = list(profile.lexicon.groups)
        named |= {groups.index(name) for text in candidates if (name := profile.lexicon.key_field(text)) is not None}
        scores[profile.form] = (has_title, len(named))
    return scores


# A 主要考核内容's table by its shape (003 附件3: 工作任务 | 操作规范 | 相关知识 | 考核比重): at least two task rows,
# one column of percentages that add up to the whole, two columns of prose beside it. No other form of the notices
# has weights; a 汇总表's rows are short names, codes and counts.
_WEIGHT = re.compile(r"\d{1,3}(?:\.\d+)?\s*%?")
_MIN_TASK_ROWS = 2
_MIN_PROSE = 12


def _weight_of(text: str) -> float | None:
    folded = norm(text).strip()
    if not _WEIGHT.fullmatch(folded):
        return None
    return float(folded.rstrip("%").strip())


def weighted_task_table(layout: Layout) -> bool:
    """Whether a table of ``layout`` is shaped like the 主要考核内容's (:func:`weighted_task_rows`)."""
    return weighted_task_rows(layout) is not None


def weighted_task_rows(layout: Layout) -> tuple[Table, list[int], int, list[int]] | None:
    """Whether a table of ``layout`` is shaped like the 主要考核内容's: rows of tasks whose weights sum to 100.

    The table's words may be any (a clerk who retypes the form renames its columns and title freely); its shape
    stays: a column whose cells under the header are each a percentage, together 100, and at least two columns
    of sentences or numbered lists in the same rows. Returns the table, its task rows, the weight column and the
    prose columns, or None.
    """
    for table in layout.tables:
        for col in range(table.n_cols):
            rows: list[int] = []
            total = 0.0
            for row in range(table.n_rows):
                cell = table.at(row, col)
                weight = _weight_of(cell.text) if cell is not None and cell.col == col else None
                if weight is not None:
                    rows.append(row)
                    total += weight
            if len(rows) < _MIN_TASK_ROWS or abs(total - 100.0) > 0.5:
                continue
            prose: list[int] = []
            for other in range(table.n_cols):
                if other == col:
                    continue
                texts = [cell.text for row in rows if (cell := table.at(row, other)) is not None and cell.col == other]
                if len(texts) == len(rows) and all(len(key(text)) >= _MIN_PROSE for text in texts):
                    prose.append(other)
            if len(prose) >= 2:
                return table, rows, col, prose
    return None


def classify(layout: Layout) -> FormId:
    """The contract's form id of ``layout``: a title plus one label, or enough labels alone; else ``unknown``.

    A table shaped like the 主要考核内容's (:func:`weighted_task_table`) counts as that form's title: its words
    may all be reworded, and no other form has weights that make a whole.
    """
    best: tuple[int, FormId] = (0, FormId.unknown)
    enough = {profile.form: profile.enough for profile in _profiles()}
    scores = form_scores(layout)
    if weighted_task_table(layout):
        _title, count = scores[FormId.special_ability_content]
        scores[FormId.special_ability_content] = (True, max(count, 1))
    for form, (has_title, count) in scores.items():
        if not ((has_title and count >= 1) or count >= enough[form]):
            continue
        score = (10 if has_title else 0) + count
        if score > best[0]:
            best = (score, form)
    return best[1]
