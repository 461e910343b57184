"""The 新职业（信息）建议书 (沪 000 附件1, 粤 002 附件1): its fields read from a Layout by their labels.

Applicants retype and rearrange the form, so nothing here trusts a cell position: every cell and paragraph is
matched once against the label table below, and a value is what stands to the right of its label in the same
row (up to the next label), or typed after the label in the label cell ("新职业名称：…"), or — for a label
row spanning the whole table, and for the paragraphs of 粤 五、职业（工种）分析 — what follows it. Table
sections (主要工作任务, 用人单位, 培训机构) are read by their header row's column labels, down to the next
row that holds a label. One index of the document is built per call; every field is a dictionary lookup.

The labels found are then aligned with the form's own order of fields (:mod:`align`): a label cell no wording
names is read as the field of its place when its neighbours agree, a loose reading out of the form's order is
doubted, and a table section's header cells are read by their place among the columns the same way. A table
section typed as a table of its own under its label (a two-column retyped form) is read there.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zhengji.notices.forms import require_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.checks.dates import is_blank_template, parse_date
from zhengji.parsers.forms.align import gap_pairs, gaps, needleman_wunsch
from zhengji.parsers.forms.lexicon import weak_similarity
from zhengji.parsers.forms.matching import LabelIndex, label_regex, thresholds
from zhengji.parsers.forms.text import clean_value, ticked_options
from zhengji.parsers.forms.wording import MARK, MARKS_BETWEEN, is_heading_numbered, is_label_fragment, normalise
from zhengji.parsers.model import CHECKED, PICTURE, UNCHECKED, Cell, Layout, Table

SEAL = "（印章）"  # The signer when the signature line holds a seal picture and no typed name.

_SPEC = require_spec(FormId.new_occupation_proposal)
# Fields read by their own logic (tick boxes, the signature and date lines), not as labelled values.
_OWN_LOGIC = frozenset({"ticks", "signature", "date"})


def _wordings() -> dict[str, tuple[str, ...]]:
    """Every label of the form (field → wordings) as the index needs them.

    Section headings are labels too (they hold no value, and end the value or the table section above them),
    named ``section:KEY``; the 学校教育情况 block is label–value pairs, so its columns are labels ``school.NAME``.
    """
    table: dict[str, tuple[str, ...]] = {}
    for field in _SPEC.fields:
        # The signature and date lines are read by their own logic; as labels they only stop other values.
        table[field.key if field.kind not in _OWN_LOGIC else f"line:{field.key}"] = field.wordings
    for name, wordings in _columns("schools").items():
        table[f"school.{name}"] = wordings
    for section in _SPEC.sections:
        if section.field is None:
            table[f"section:{section.key}"] = section.wordings
    # Column headers of the table sections ("工作内容", "单位名称") are labels of their own, so that a header is
    # never read loosely as another field's label (工作内容 as 主要工作内容).
    for field in _SPEC.fields:
        if field.kind == "table" and field.key != "schools":
            for header in field.columns:
                table.setdefault(f"col:{field.key}.{header.key}", header.wordings)
    return table


def _columns(key: str) -> dict[str, tuple[str, ...]]:
    """A table section's column headers (column → wordings), from the form data."""
    field = _SPEC.field(key)
    return {column.key: column.wordings for column in field.columns} if field is not None else {}


_INDEX = LabelIndex(_wordings())
# The same without the column headers, for a header's wording that stands alone in its row.
_FIELD_INDEX = LabelIndex({field: texts for field, texts in _wordings().items() if not field.startswith("col:")})
_TASK_HEADERS = _columns("tasks")
_ORG_HEADERS = _columns("employers")
_TRAINING_HEADERS = _columns("training_orgs")
_SCHOOL_HEADERS = _columns("schools")
# Printed wordings by their first character, longest first, for a label that starts a cell (:func:`_leading`).
_LEADING: dict[str, list[str]] = {}
for _wording in sorted(_FIELD_INDEX.exact, key=len, reverse=True):
    if len(_wording) >= 2:
        _LEADING.setdefault(_wording[0], []).append(_wording)
_TABLE_HEADERS = {"tasks": _TASK_HEADERS, "employers": _ORG_HEADERS, "training_orgs": _TRAINING_HEADERS}
_LIMIT_PREFIX = re.compile(r"^\s*[(（]\s*\d+\s*字以内\s*[)）]\s*[:：]?\s*")
_SEPARATOR = re.compile(r"[:：\n]")
_COLON = re.compile(r"[:：]")
_QUALIFIER_PREFIX = re.compile(r"^\s*[(（][^()（）\d]{1,6}[)）]")
# A section number before a heading as typed ("十、", "（十）", "第十部分", "10.").
_RAW_NUMBERING = re.compile(
    r"^\s*(?:第\s*[一二三四五六七八九十\d]+\s*(?:部分|项|节)|[一二三四五六七八九十]{1,3}\s*[、.．]"
    r"|[(（]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|\d{1,2}\s*[、．]|\d{1,2}\.(?!\d))\s*"
)
# A footnote under a table starts with its mark: "⑧ 列出…", "⁷列出…", "^7 列出…", "注7：".
_FOOTNOTE = re.compile(rf"^\s*(?:{MARK.pattern}|\d{{1,2}}[.、．]\s)")
_MARKS_PREFIX = re.compile(rf"^(?:\s|[:：]|{MARK.pattern})+")
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
# The signature line: "建议人（盖章或签字）：", "建议人签字（盖章）", "申报单位/个人(签字或盖章)", markers after it.
_SIGNATURE = re.compile(
    r"(建议人|建议单位|申报单位|申报人|个人|单位|签字人)\s*/?\s*(个人)?\s*(?:签字|签名|盖章)?\s*"
    r"\([^)\n]*(盖章|签字|签名)[^)\n]*\)" + MARKS_BETWEEN + r"[:：]?"
)
# The date line: 填写时间, 填写日期, 填表时间, 填表日期, spaced out or with a marker.
_DATE_LINE = re.compile(r"填\s*[写表]\s*(?:时\s*间|日\s*期)" + MARKS_BETWEEN + r"[:：]?")
# What a line's own label shows of its kind: a seal or signature asked for; a time as its head noun.
# By kind, the request must end the label, or end the bracket that ends it ("建议人签章", "单位（请加盖公章）"):
# "建议书（盖章版）" is a title naming the copy, not a line to sign.
_STAMP_END = re.compile(r"(?:盖章|签字|签名|签章|印章|公章)(?:处)?\)?$")
_TIME_NOUN = re.compile(r"(?:时间|日期|年月日|date|日)$")
_BRACKETED = re.compile(r"\([^()]*\)")
_MAX_LINE_LABEL = 20
_LABEL_TO_COLON = re.compile(r"[^:：\n]{1,12}[:：]")
_MAX_DATE_LABEL = 6
_GUANGDONG_KEYS = frozenset({"新职业建议书", "申报类别", "职业(工种)名称"})
# Options only Guangdong's 申报类别 offers (Shanghai's form has 全新职业 alone).
_GUANGDONG_OPTIONS = ("新工种", "调整变更")


_key = normalise


def _match(text: str, fuzzy: bool = True) -> tuple[str, str | None] | None:
    """(field, value typed after the label) when ``text`` is a label cell or paragraph, else None.

    A label matches whole ("新职业定义 ³", "新职业的定义") or before a colon or line break that starts a typed
    value ("新职业名称：无人机群飞表演编队师"); "发展前景广阔" is a value, not the label 发展前景.
    """
    found = _INDEX.match(text, fuzzy=fuzzy)
    if found is None:
        return None
    if found.remainder is None or is_label_fragment(found.remainder):
        return found.field, None
    return found.field, clean_value(_LIMIT_PREFIX.sub("", _MARKS_PREFIX.sub("", found.remainder)))


def _after_line_label(text: str) -> str:
    """What follows a signature or date label, without the marks, colons and a short bracketed qualifier the
    applicant typed after the label ("填写时间（年月日）：", "建议人（签章）（必填）：")."""
    return _MARKS_PREFIX.sub("", _QUALIFIER_PREFIX.sub("", _MARKS_PREFIX.sub("", text)))


def _leading(text: str) -> tuple[str, str | None] | None:
    """A label at the start of a cell with its value run on after it, the line break lost (a PDF of a cell typed
    "新职业名称²⏎无人机…" gives "新职业名称 ²无人机…"): the longest printed wording that starts the text.

    Wordings of two characters ("电话") only when a mark, a colon or a space follows them. The caller asks only of
    cells that are no other label's value, so that a value such as "职业安全意识强" is not taken apart.
    """
    if is_heading_numbered(text):
        return None  # a numbered heading holds no value ("第九部分 联系人情况" is no 联系人 "情况")
    head = normalise(text[:24])
    stripped = _RAW_NUMBERING.sub("", text, count=1).lstrip()
    for wording in _LEADING.get(head[:1], ()):
        if not head.startswith(wording):
            continue
        match = label_regex(wording).match(stripped)
        if match is None:
            continue
        rest = stripped[match.end() :]
        separated = match.group(0) != match.group(0).rstrip() or MARK.search(match.group(0)) or rest[:1] in ":："
        if not rest.strip() or (len(wording) < 3 and not separated):
            continue
        if is_label_fragment(rest):
            return _FIELD_INDEX.exact[wording], None  # the label's own second half ("备选名称/别称"): no value here
        return _FIELD_INDEX.exact[wording], clean_value(_LIMIT_PREFIX.sub("", _MARKS_PREFIX.sub("", rest)))
    return None


def _line(text: str) -> tuple[str, str | None] | None:
    """The signature or date line, read by their own logic: as labels they only end the values above them."""
    normal = unicodedata.normalize("NFKC", text)
    if _find_line(normal, "line:signer") is not None:
        return "line:signer", None
    found = _find_line(normal.strip(), "line:fill_date")
    if found is not None and found[0] == 0:
        return "line:fill_date", None
    return None


def _line_field(label: str, by_kind: bool = True) -> str | None:
    """Which of the signature and date lines ``label`` (the words before a colon) is the label of, if either.

    First by the one scorer over the form data's wordings of the two lines; then by the kind of line each is,
    which a clerk sees in words never printed: a label that asks for a seal or a signature is the signature line
    (the form has one), a label whose head noun is a time ("…时间", "…日期", "…年月日") is the date line. A label
    of another field of the form is neither.
    """
    key = _key(label)
    if not 2 <= len(key) <= _MAX_LINE_LABEL or _NOT_LABEL.search(key) or key in _FIELD_INDEX.exact:
        return None
    found = _LINE_INDEX.field_of(label)
    if found is not None or not by_kind:
        return found
    if _STAMP_END.search(key):
        return "line:signer"
    bare = _BRACKETED.sub("", key) or key
    if _TIME_NOUN.search(bare) and len(bare) <= _MAX_DATE_LABEL:
        return "line:fill_date"
    return None


def _find_line(normal: str, field: str) -> tuple[int, int] | None:
    """Where the label of line ``field`` stands in a text already NFKC-normalised: (its start, where the value
    after it starts). The printed wordings as typed (spaced out, marked), else a label before a colon on the
    first line, or a short first line that is a label alone, read by :func:`_line_field`."""
    printed = _SIGNATURE.search(normal) if field == "line:signer" else _DATE_LINE.search(normal)
    if printed is not None:
        # A label that goes on to its colon is one label ("申报单位（盖章）或个人（签字）："): its value starts there.
        more = _LABEL_TO_COLON.match(normal, printed.end())
        if more is not None and _line_field(normal[printed.start() : more.end() - 1]) == field:
            return printed.start(), more.end()
        return printed.start(), printed.end()
    line = normal.split("\n")[0]
    start = 0
    for colon in _COLON.finditer(line):
        chunk = line[start : colon.start()]
        words = chunk.rstrip().rsplit(None, 1)
        label = words[-1] if words else ""
        if label and _line_field(label) == field and _fits(field, label, line[colon.end() :]):
            return start + chunk.rstrip().rfind(label), colon.end()
        start = colon.end()
    if start == 0 and _line_field(line) == field:
        return len(line) - len(line.lstrip()), len(line)
    return None


def _fits(field: str, label: str, after: str) -> bool:
    """Whether the value after a line label read by its kind alone is of that kind: a date line read by its head
    noun only holds a date or the printed "年 月 日" ("成立日期：2010年" in a note is no fill date)."""
    if field != "line:fill_date" or _line_field(label, by_kind=False) == field:
        return True
    value = _after_line_label(after).strip().strip("_ ")
    return is_blank_template(value) or parse_date(value.split()[0] if value else value) is not None


def _match_prefix(text: str) -> str | None:
    """The field of a long label cut short: a PDF may lose a label's last characters to the next cell.

    Only labels of eight characters or more, and only when at least three quarters of the label are there,
    so that a value ("发展前景广阔") is never read as a label.
    """
    key = _key(text)
    if len(key) < 8:
        return None
    fields = {
        field for label, field in _INDEX.exact.items() if label.startswith(key) and len(key) * 4 >= len(label) * 3
    }
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
    # Read loosely (no accepted wording): the form's order may doubt it (:meth:`_Document._align`).
    loose: bool = False


@dataclass(frozen=True)
class _Candidate:
    """A place where a label stands, for the alignment: its text, the hit read there (if any) and how."""

    order: int
    text: str
    hit: _Hit | None
    field: str | None
    exact: bool
    table: int = -1
    cell: Cell | None = None
    block: int = -1


def _order() -> tuple[str, ...]:
    """The form's labels in the form's order: each section's heading, then its fields (the 学校教育情况 block's
    row labels after it); the signature and date lines are read by their own logic wherever they stand."""
    keys: list[str] = []
    for section in _SPEC.sections:
        if section.field is None:
            keys.append(f"section:{section.key}")
        for field in _SPEC.fields:
            if field.section != section.key or field.kind in ("signature", "date"):
                continue
            keys.append(f"line:{field.key}" if field.kind in _OWN_LOGIC else field.key)
            if field.key == "schools":
                keys.extend(f"school.{name}" for name in _SCHOOL_HEADERS)
    return tuple(keys)


_ORDER = _order()
_POSITION = {key: index for index, key in enumerate(_ORDER)}
# The one scale of wording scores, over the labels the alignment places.
_LEXICON = LabelIndex.for_headers({key: texts for key, texts in _wordings().items() if key in _POSITION})
_MAX_LABEL = 30
# The signature and date lines on the one scale of every label (their wordings in the form data).
_LINE_INDEX = LabelIndex.for_headers(
    {f"line:{field.key}": field.wordings for field in _SPEC.fields if field.kind in ("signature", "date")}
)
# A value, not a label: sentence punctuation, book titles, an address or a number.
_NOT_LABEL = re.compile(r"[。，；;！？!?《》@]|\d{3,}")
_WORDS = re.compile(r"[\u4e00-\u9fff].*[\u4e00-\u9fff]")
# A short label in English beside its value ("Tel", "E-mail"): shaped like a label only by the cells around it.
_LATIN_LABEL = re.compile(r"[A-Za-z][A-Za-z.\-/]{1,11}")


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
        # Label cells that hold their value too ("联系人张丽"): the cell beside one may be the next label.
        self.inline: set[tuple[int, int, int]] = set()
        # The columns each table section's header named (by the id of the section's column table).
        self.columns_found: dict[int, set[str]] = {}
        self.texts: list[str] = []  # Every paragraph and cell text in reading order.
        # Every filled cell with its place in reading order: the candidates of the alignment with the form.
        self.cell_order: list[tuple[int, Cell, int]] = []
        # Every paragraph no label was read in, with its place: a label of its own line is a candidate too.
        self.paragraph_order: list[tuple[int, int]] = []
        order = 0
        for index, block in enumerate(layout.blocks):
            if isinstance(block, str):
                self.texts.append(block)
                # The paragraph after a label is its value: only an exact label there ends it.
                found = _line(block) or (
                    _match(block, fuzzy=index - 1 not in self.label_blocks) if block.strip() else None
                )
                if found:
                    self.hits[found[0]].append(_Hit(found[0], found[1], order, block=index))
                    self.label_blocks.add(index)
                elif block.strip():
                    self.paragraph_order.append((index, order))
                order += 1
                continue
            self.grids[index] = _Grid(block)
            consumed: set[tuple[int, int]] = set()
            for cell in sorted(block.cells, key=lambda cell: (cell.row, cell.col)):
                self.texts.append(cell.text)
                order += 1
                if (cell.row, cell.col) in consumed or not cell.text.strip():
                    continue
                self.cell_order.append((index, cell, order - 1))
                found = _line(cell.text) or _match(cell.text, fuzzy=False)
                if found:
                    self.hits[found[0]].append(_Hit(found[0], found[1], order - 1, table=index, cell=cell))
                    self.label_cells.add((index, cell.row, cell.col))
                    if found[1]:
                        self.inline.add((index, cell.row, cell.col))
                    continue
                # A label a page break cut in two is joined back before it is matched loosely in halves.
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
                if self._beside_label(index, cell):
                    continue  # the cell right of a label is its value, however much it looks like a label
                found = _match(cell.text)
                if found:
                    self.hits[found[0]].append(_Hit(found[0], found[1], order - 1, table=index, cell=cell, loose=True))
                    self.label_cells.add((index, cell.row, cell.col))
                    continue
                cut = _match_prefix(cell.text)
                if cut is not None:
                    self.hits[cut].append(_Hit(cut, None, order - 1, table=index, cell=cell, loose=True))
                    self.label_cells.add((index, cell.row, cell.col))
                    continue
                found = _leading(cell.text)
                if found:
                    # A wording that starts a cell may as well start a longer label ("相关职业标准规定" is no
                    # 相关职业 with the value 标准规定): the form's order may doubt it like any loose reading.
                    self.hits[found[0]].append(_Hit(found[0], found[1], order - 1, table=index, cell=cell, loose=True))
                    self.label_cells.add((index, cell.row, cell.col))
                    self.inline.add((index, cell.row, cell.col))
        self._lone_headers()
        self._align()

    def _lone_headers(self) -> None:
        """A column header's wording alone in its row is no header ("工作内容" as the label of 八's 主要工作内容):
        read it again among the fields' labels."""
        for field in [field for field in self.hits if field.startswith("col:")]:
            owner = field[4:].split(".")[0]
            kept: list[_Hit] = []
            for hit in self.hits[field]:
                assert hit.cell is not None
                fellows = [
                    other
                    for name, hits in self.hits.items()
                    if name.startswith(f"col:{owner}.") or name == owner
                    for other in hits
                    if other is not hit
                    and other.table == hit.table
                    and other.cell is not None
                    and other.cell.row <= hit.cell.row < other.cell.row + max(other.cell.rowspan, 1)
                ]
                found = None if fellows else _FIELD_INDEX.match(hit.cell.text)
                if found is None:
                    kept.append(hit)
                else:
                    loose = found.score < 99.0
                    self.hits[found.field].append(
                        _Hit(found.field, None, hit.order, table=hit.table, cell=hit.cell, loose=loose)
                    )
            self.hits[field] = kept
        for hits in self.hits.values():
            hits.sort(key=lambda hit: hit.order)

    # --- position as evidence (align.py) ----------------------------------------------------------------------------
    def _align(self) -> None:
        """Read the labels again with the form's order as evidence (:mod:`align`): a loose reading out of the
        form's order, of a field read in its place elsewhere, is doubted; a label cell no wording names is read as
        the free field of its place when its neighbours agree."""
        candidates = self._candidates()
        if not any(candidate.field is None or not candidate.exact for candidate in candidates):
            return  # every label read by an accepted wording: the order adds nothing
        settings = thresholds()
        floor = settings.align_floor

        gains: list[dict[int, float]] = []
        for candidate in candidates:
            if candidate.exact:
                assert candidate.field is not None
                gains.append({_POSITION[candidate.field]: 1.0})
                continue
            scores = _LEXICON.key_scores(_key(candidate.text))
            if candidate.field is not None:
                scores[candidate.field] = max(scores.get(candidate.field, 0.0), settings.threshold)
            gains.append(
                {
                    _POSITION[field]: (score - floor) / (100.0 - floor)
                    for field, score in scores.items()
                    if score > floor
                }
            )
        path = dict(needleman_wunsch(gains, len(_ORDER)))
        placed = {_ORDER[col] for col in path.values()}
        kept: set[str] = set()
        unread: list[int] = []
        for row, candidate in enumerate(candidates):
            if row in path:
                self._reread(candidate, _ORDER[path[row]])
            elif candidate.field is not None and candidate.exact:
                kept.add(candidate.field)  # an accepted wording keeps its reading wherever the row was moved
            elif candidate.field is not None:
                self._reread(candidate, None)  # a loose reading in a place the form's order does not allow
                unread.append(row)
            else:
                unread.append(row)
        taken = placed | kept
        free = [col for col, field in enumerate(_ORDER) if field not in taken]
        anchors = sorted(path.items())
        for gap in gaps(anchors, unread, free, rows=len(candidates), columns=len(_ORDER), edges=False, end=True):
            lone = candidates[gap.candidates[0]]
            if len(gap.candidates) == len(gap.fields) == 1 and self._value_right(lone.table, lone.cell):
                # One label cell with its value beside it, where one field is free between agreeing neighbours:
                # that field, whatever its words ("Tel" between 联系人 and 电子信箱).
                self._reread(lone, _ORDER[gap.fields[0]])
                continue
            pairs = gap_pairs(
                gap,
                lambda row, col: weak_similarity(_key(candidates[row].text), _LEXICON.groups[_ORDER[col]]),
                min_shared=settings.align_min_shared,
                max_gap=settings.align_max_gap,
            )
            for row, col in pairs:
                self._reread(candidates[row], _ORDER[col])
        for hits in self.hits.values():
            hits.sort(key=lambda hit: hit.order)

    def _candidates(self) -> list[_Candidate]:
        """The places where labels stand, in reading order: every label read (but the signature and date lines and
        the tables' column headers, read by their own logic) and every cell shaped like a label that none names."""
        read: dict[tuple[int, int, int], _Hit] = {}
        found: list[_Candidate] = []
        for field, hits in self.hits.items():
            for hit in hits:
                if hit.cell is not None:
                    read[(hit.table, hit.cell.row, hit.cell.col)] = hit
                if field in _POSITION:
                    text = hit.cell.text if hit.cell is not None else self.blocks[hit.block]
                    assert isinstance(text, str)
                    found.append(_Candidate(hit.order, text, hit, field, not hit.loose))
        for table, cell, order in self.cell_order:
            there = read.get((table, cell.row, cell.col))
            if (there is None or there.field.startswith("col:")) and self._label_shaped(table, cell):
                found.append(_Candidate(order, cell.text, there, None, False, table, cell))
        for block, order in self.paragraph_order:
            if self._paragraph_label_shaped(block):
                text = self.blocks[block]
                assert isinstance(text, str)
                found.append(_Candidate(order, text, None, None, False, block=block))
        return sorted(found, key=lambda candidate: candidate.order)

    def _value_right(self, table: int, cell: Cell | None) -> bool:
        """Whether the cell right of ``cell`` in its row holds a value (filled, and read as no label)."""
        if cell is None or table not in self.grids:
            return False
        row = self.grids[table].rows[cell.row]
        right = next((other for other in row if other.col >= cell.col + cell.colspan and other.text.strip()), None)
        return right is not None and (table, right.row, right.col) not in self.label_cells

    def _paragraph_label_shaped(self, block: int) -> bool:
        """A paragraph where a label stands on a line of its own (粤 五、职业（工种）分析): a short text of words,
        no footnote, with a paragraph after it (its answer) before the next table."""
        text = self.blocks[block]
        assert isinstance(text, str)
        if _FOOTNOTE.match(text) or CHECKED in text or UNCHECKED in text:
            return False
        key = _key(text)  # without a limit "（200字以内）", whose digits are no value's
        if not 2 <= len(key) <= _MAX_LABEL or _NOT_LABEL.search(key) or not _WORDS.search(key):
            return False
        following = self.blocks[block + 1] if block + 1 < len(self.blocks) else None
        return isinstance(following, str) and bool(following.strip())

    def _label_shaped(self, table: int, cell: Cell) -> bool:
        """A cell where a label stands: a short text of words, first in its row or merged down over rows."""
        text = cell.text
        if len(text) > 2 * _MAX_LABEL or CHECKED in text or UNCHECKED in text:
            return False
        key = _key(text)  # without a limit "（400字内）", whose digits are no value's
        if not 2 <= len(key) <= _MAX_LABEL or _NOT_LABEL.search(key):
            return False
        if not _WORDS.search(key) and not (_LATIN_LABEL.fullmatch(key) and self._value_right(table, cell)):
            return False
        if cell.rowspan > 1:
            return True
        row = self.grids[table].rows[cell.row]
        if next((other for other in row if other.text.strip()), None) is cell:
            return True
        left = next((other for other in row if other.col + other.colspan == cell.col), None)
        if left is None:
            return False
        if left.rowspan > 1:
            # A row label in a block ("学校教育情况": 院校名称, 专业名称 …) where the block's other rows have theirs.
            rows = range(left.row, left.row + left.rowspan)
            return any(
                self.is_label(table, other)
                for index in rows
                if index != cell.row
                for other in self.grids[table].rows[index]
                if other.col == cell.col
            )
        # The second label of a row typed "label | value | label | value" (联系人 | 张丽 | 电话号码 | 138…).
        before = next((other for other in row if other.col + other.colspan == left.col), None)
        return not self.is_label(table, left) and before is not None and self.is_label(table, before)

    def _reread(self, candidate: _Candidate, field: str | None) -> None:
        """Give a candidate the field the alignment reads it as (None: doubted)."""
        hit = candidate.hit
        if hit is not None and hit.field == field:
            return
        if hit is not None:
            self.hits[hit.field] = [other for other in self.hits[hit.field] if other is not hit]
        if field is None:
            return
        if hit is not None:
            new = _Hit(field, hit.remainder, hit.order, hit.table, hit.cell, hit.block, hit.split, hit.loose)
        else:
            if candidate.cell is None:
                new = _Hit(field, None, candidate.order, block=candidate.block)
                self.label_blocks.add(candidate.block)
            else:
                new = _Hit(field, None, candidate.order, table=candidate.table, cell=candidate.cell)
                self.label_cells.add((candidate.table, candidate.cell.row, candidate.cell.col))
        self.hits[field].append(new)

    def _table_after(
        self, table: int, label: Cell, headers: Mapping[str, tuple[str, ...]]
    ) -> list[dict[str, str | None]]:
        """The rows of a table section typed as a table of its own right under its label (a two-column form has no
        room for the columns): the label's row holds nothing else, and the next block is a table whose first rows
        name at least two of the columns."""
        grid = self.grids[table]
        beside = [
            cell for cell in grid.rows[label.row] if cell.col >= label.col + label.colspan and cell.row == label.row
        ]
        following = self.grids.get(table + 1)
        if following is None or any(cell.text.strip() for cell in beside):
            return []
        keys = {_key(text): name for name, texts in headers.items() for text in texts}
        index = _header_index(headers)
        for row in range(min(2, following.table.n_rows)):
            named = {_header_of(cell.text, keys, index) for cell in following.rows[row] if cell.row == row}
            if len(named - {None}) >= 2:
                # A zero-width stand-in for the label: the header row starts the table.
                return self._rows_under(table + 1, Cell(row, 0, 1, 0, ""), headers)
        return []

    def _header_by_place(
        self, grid: _Grid, label: Cell, headers: Mapping[str, tuple[str, ...]]
    ) -> list[tuple[str, int, int]]:
        """The header of a table section none of whose column headers reads as a wording: the cells right of the
        section's label in its own row, in the place of the header, read by the form's order of columns when at
        least two of them agree (:func:`_aligned_header`)."""
        cells = [
            cell for cell in grid.rows[label.row] if cell.col >= label.col + label.colspan and cell.row == label.row
        ]
        if len(cells) < 2 or any(_NOT_LABEL.search(cell.text) or not _key(cell.text) for cell in cells):
            return []
        columns = _aligned_header(cells, [], headers)
        return columns if len(columns) >= 2 else []

    def _beside_label(self, table: int, cell: Cell) -> bool:
        """Whether the cell just left of ``cell`` is a one-row label (so that ``cell`` holds its value); a block
        label merged down over several rows (学校教育情况) has row labels of its own beside it."""
        left = [other for other in self.grids[table].rows[cell.row] if other.col + other.colspan == cell.col]
        return any(
            self.is_label(table, other) and other.rowspan <= 1 and (table, other.row, other.col) not in self.inline
            for other in left
        )

    def _split_label(self, table: int, cell: Cell) -> tuple[str, Cell] | None:
        """A label a PDF page break cut in two: its head in this cell, its tail in the cell right below it."""
        grid = self.grids[table]
        row = cell.row + max(cell.rowspan, 1)
        if row >= grid.table.n_rows:
            return None
        for below in grid.rows[row]:
            if below.row == row and below.col == cell.col and below.colspan == cell.colspan and below.text.strip():
                found = _INDEX.exact_match(f"{cell.text}{below.text}")
                return (found.field, below) if found is not None else None
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
        if self._swapped_row(hit.table, cell.row):
            return self._left(hit.table, cell) or hit.remainder
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
        if value is None and hit.remainder is None and not to_right and self._starts_with_value(hit.table, cell.row):
            value = self._left(hit.table, cell)
        if value is None and hit.remainder is not None and self.pdf:
            return self._inline_tail(hit.table, cell, _TOKEN_WRAP.sub("", hit.remainder))
        return value if value is not None else hit.remainder

    def _row_filled(self, table: int, row: int) -> list[Cell]:
        """The filled cells of a row, without a block label merged down over it (学校教育情况)."""
        return [
            cell
            for cell in self.grids[table].rows[row]
            if cell.text.strip() and not (cell.rowspan > 1 and self.is_label(table, cell))
        ]

    def _starts_with_value(self, table: int, row: int) -> bool:
        """A row whose first filled cell is no label: its first label's value stands to the left of it."""
        filled = self._row_filled(table, row)
        return bool(filled) and not self.is_label(table, filled[0])

    def _swapped_row(self, table: int, row: int) -> bool:
        """A row typed value-first ("张三 | 联系人 | 138… | 联系电话"): every label's value is on its left."""
        filled = self._row_filled(table, row)
        return self._starts_with_value(table, row) and self.is_label(table, filled[-1])

    def _left(self, table: int, cell: Cell) -> str | None:
        """The cells left of a label back to the previous label: its value in a row typed value-first."""
        texts: list[str] = []
        for other in reversed(self.grids[table].rows[cell.row]):
            if other.col >= cell.col:
                continue
            if self.is_label(table, other):
                break
            if other.row == cell.row and other.text.strip():
                texts.append(other.text.strip())
        return clean_value("\n".join(reversed(texts)))

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
            or is_heading_numbered(tail.text)
            or any(other.text.strip() for other in starting if other is not tail)
        ):
            return value
        return _join_split(value, _TOKEN_WRAP.sub("", tail.text))

    def _below(self, table: int, cell: Cell) -> str | None:
        """The value of a label row spanning the table: the next row, when it holds no label."""
        grid = self.grids[table]
        row = cell.row + max(cell.rowspan, 1)
        if cell.col != 0 or cell.colspan < grid.table.n_cols:
            return None
        if row >= grid.table.n_rows:
            return self._after_table(table)
        cells = grid.rows[row]
        if any(self.is_label(table, other) for other in cells):
            # A PDF page break may move the value out of the table while the next section's rows join it: the
            # paragraphs after the table are this label's when every later row of the table has its own label.
            later = range(row, grid.table.n_rows)
            if all(any(self.is_label(table, other) for other in grid.rows[index]) for index in later):
                return self._after_table(table)
            return None
        return clean_value("\n".join(other.text.strip() for other in cells if other.text.strip()))

    def _after_table(self, table: int) -> str | None:
        """The value of a label row that ends its table: a PDF page break may leave it as the paragraphs after
        the table, up to the next label, table or footnote ("⑧ 列出对新职业…")."""
        lines: list[str] = []
        for index in range(table + 1, len(self.blocks)):
            block = self.blocks[index]
            if not isinstance(block, str) or index in self.label_blocks or _FOOTNOTE.match(block):
                break
            if block.strip():
                lines.append(block.strip())
        return clean_value("\n".join(lines))

    def _paragraph_value(self, hit: _Hit) -> str | None:
        """A label paragraph's answer: the paragraphs after it up to the next label, table or blank-label line."""
        lines = [hit.remainder] if hit.remainder else []
        for index in range(hit.block + 1, len(self.blocks)):
            block = self.blocks[index]
            if not isinstance(block, str) or index in self.label_blocks:
                break
            if _line(block) is not None:
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
        index = _header_index(headers)
        columns: list[tuple[str, int, int]] = []
        header_row = -1
        for row in range(label.row, min(label.row + 3, grid.table.n_rows)):
            columns = [
                (name, cell.col, cell.col + cell.colspan)
                for cell in grid.rows[row]
                if cell.col >= label.col + label.colspan
                and cell.row == row
                and (name := _header_of(cell.text, keys, index)) is not None
            ]
            if columns:
                header_row = row
                columns = _aligned_header(
                    [cell for cell in grid.rows[row] if cell.col >= label.col + label.colspan and cell.row == row],
                    columns,
                    headers,
                )
                break
        if header_row < 0:
            columns = self._header_by_place(grid, label, headers)
            if not columns:
                return self._table_after(table, label, headers)
            header_row = label.row
        self.columns_found.setdefault(id(headers), set()).update(name for name, _start, _end in columns)
        span_end = label.row + max(label.rowspan, 1)
        out: list[dict[str, str | None]] = []
        first = header_row + 1
        while True:
            for row in range(first, grid.table.n_rows):
                cells = [cell for cell in grid.rows[row] if cell != label]
                if row >= span_end and (any(self.is_label(table, cell) for cell in cells) or _heading_row(cells)):
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
                    broken = self.pdf and out and _tail_of_row(out[-1], record)
                    if self.pdf and out and (_continues(out[-1], record) or broken):
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
            # A new school starts where a part repeats: the block may come in any order (课程 before 院校名称).
            if current is None or part in current:
                current = {}
                schools.append(current)
            current[part] = self.value_at(hit)
        return [
            {part: school.get(part) for part in ("name", "major", "courses")}
            for school in schools
            if any(school.values())
        ]

    # --- the lines outside the tables ------------------------------------------------------------------------------
    def category(self) -> tuple[str | None, int | None]:
        """The ticked category and how many boxes are ticked; ``None`` ticks when no option box was found at
        all (the category is then not located: a clerk looks, the applicant is not told to tick)."""
        ticked: list[str] = []
        seen = False
        for raw in self.texts:
            text = raw.translate(_SYMBOL_TICKS)
            if not any(word in text for word in ("职业", "工种", "调整")):
                continue
            checked, unchecked = ticked_options(text)
            if any(_category_of(option) for option in checked + unchecked):
                seen = True
                ticked.extend(option for option in checked if _category_of(option))
        kinds = [_category_of(option) for option in ticked]
        return (kinds[0] if len(kinds) == 1 else None), (len(kinds) if seen else None)

    def has_signature_line(self) -> bool:
        return any(_find_line(unicodedata.normalize("NFKC", text), "line:signer") for text in self.texts)

    def has_date_line(self) -> bool:
        return any(_find_line(unicodedata.normalize("NFKC", text), "line:fill_date") for text in self.texts)

    def unlocated(self, ticks: int | None) -> list[str]:
        """The fields a rule may ask for whose label or section this document does not show (contract, "Blank or
        not found"): reported to staff as ``unlocated_field``, never to the applicant as blank."""
        optional = _SPEC.optional_sections()
        out: list[str] = []
        for field in _SPEC.fields:
            if not (field.required or field.section in optional or field.kind == "signature"):
                continue
            if field.kind == "ticks":
                located = ticks is not None
            elif field.kind == "signature":
                located = self.has_signature_line() or self.red_seals > 0
            elif field.kind == "date":
                located = self.has_date_line()
            elif field.key == "schools":
                # The block is there when one of its row labels or its header is: the section's name alone is not
                # enough to say that its rows are blank.
                located = any(self.hits.get(f"school.{column}") for column in _SCHOOL_HEADERS) or bool(
                    self.columns_found.get(id(_SCHOOL_HEADERS))
                )
            else:
                located = bool(self.hits.get(field.key))
            if not located:
                out.append(field.key)
            elif field.kind == "table":
                missing = self._columns_not_found(field.key)
                # No header found, or not the column a row needs (主要工作任务's 内容): the table as a whole
                # cannot be read, so its emptiness says nothing.
                if missing is None or any(column.key in missing for column in field.columns if column.required):
                    out.append(field.key)
                out.extend(f"{field.key}.{column}" for column in missing or [])
        return out

    def _columns_not_found(self, key: str) -> list[str] | None:
        """The columns of a located table section whose header this document does not show; None when cells
        stand under its label but no header was recognised at all."""
        if key == "schools":
            found = {column for column in _SCHOOL_HEADERS if self.hits.get(f"school.{column}")}
            found |= self.columns_found.get(id(_SCHOOL_HEADERS), set())
            return [column for column in _SCHOOL_HEADERS if column not in found]
        headers = _TABLE_HEADERS[key]
        named = self.columns_found.get(id(headers))
        if named is None:
            # The label is there but no header under or after it: the table was not found, whether its rows are
            # typed somewhere zhengji does not look or left out; a clerk looks (contract, "Blank or not found").
            return None
        return [column for column in headers if column not in named]

    def signer(self) -> str | None:
        for position, text in enumerate(self.texts):
            normal = unicodedata.normalize("NFKC", text)
            found = _find_line(normal, "line:signer")
            if found is None:
                continue
            rest = _after_line_label(normal[found[1] :].split("\n")[0])
            date = _find_line(rest, "line:fill_date")
            rest = rest[: date[0]] if date else rest
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
            found = _find_line(normal, "line:fill_date")
            if found is None:
                continue
            raw = clean_value(_after_line_label(normal[found[1] :].split("\n")[0]))
            if raw is None or is_blank_template(raw):
                return None
            raw = raw.strip("_ ")
            parsed = parse_date(raw)
            return parsed.isoformat() if parsed else raw
        return None

    def province(self) -> str:
        """Guangdong by its title, its own labels, or the category options only its form offers."""
        for text in self.texts:
            key = _key(text)
            if key in _GUANGDONG_KEYS or "新职业建议书" in key or "新职业(工种)建议书" in key:
                return "guangdong"
            if any(option in key for option in _GUANGDONG_OPTIONS) and ticked_options(text) != ([], []):
                return "guangdong"
        return "shanghai"


def _heading_row(cells: list[Cell]) -> bool:
    """A row that opens the next section ("七、有关法律法规情况…"): a table's rows end there, label or not."""
    filled = [cell for cell in cells if cell.text.strip()]
    return bool(filled) and filled[0].col == 0 and is_heading_numbered(filled[0].text)


_HEADER_INDEXES: dict[int, LabelIndex] = {}


def _header_index(headers: Mapping[str, tuple[str, ...]]) -> LabelIndex:
    """The columns of a table section as an index (built once per section)."""
    index = _HEADER_INDEXES.get(id(headers))
    if index is None:
        index = _HEADER_INDEXES[id(headers)] = LabelIndex(headers)
    return index


def _header_of(text: str, keys: Mapping[str, str], index: LabelIndex) -> str | None:
    """A section's column for a header cell: by its wordings, loosely ("特有工具或设备"), or — a PDF may glue a
    neighbour's characters before it ("单单位位名称") — by how it ends."""
    key = _key(text)
    if key in keys:
        return keys[key]
    if not key:
        return None
    found = index.lookup(text)
    if found is not None:
        return found.field
    ends = [header for header in keys if key.endswith(header)]
    return keys[max(ends, key=len)] if ends else None


def _aligned_header(
    cells: list[Cell], columns: list[tuple[str, int, int]], headers: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, int, int]]:
    """A header row's cells that no wording names, read as the free column of their place when the columns
    read on either side (or the row's ends) agree (:mod:`align`): "排序 | 任务描述 | 特有工具 | 专有技术"."""
    named = {start: name for name, start, _end in columns}
    order = list(headers)
    filled = [cell for cell in cells if cell.text.strip()]
    anchors = [(row, order.index(named[cell.col])) for row, cell in enumerate(filled) if cell.col in named]
    unread = [row for row, cell in enumerate(filled) if cell.col not in named]
    free = [col for col, name in enumerate(order) if name not in named.values()]
    if not unread or not free:
        return columns
    settings = thresholds()
    found = list(columns)
    for gap in gaps(anchors, unread, free, rows=len(filled), columns=len(order), edges=True):
        pairs = gap_pairs(
            gap,
            lambda row, col: weak_similarity(_key(filled[row].text), [_key(text) for text in headers[order[col]]]),
            min_shared=settings.align_min_shared,
            max_gap=settings.align_max_gap,
            alone=True,
        )
        found += [(order[col], filled[row].col, filled[row].col + filled[row].colspan) for row, col in pairs]
    return sorted(found, key=lambda column: column[1])


_TAIL = 8
_SENTENCE_ENDS = ("。", "；", ";", "！", "？", ".", "）", ")")


def _tail_of_row(previous: Mapping[str, str | None], record: Mapping[str, str | None]) -> bool:
    """Whether a PDF row is the tail of the row above, cut by a page break ("…培训中" above, "心" below): it fills
    fewer columns than that row did, and none that row left blank."""
    filled = {name for name, value in record.items() if value}
    before = {name for name, value in previous.items() if value}
    if not filled or not filled < before:
        return False
    # The few characters a page break pushed down, after a text it cut mid-word: a row of its own (a task with
    # its tools left blank) holds a whole text, and the text above it ends a sentence.
    return all(
        len(record[name] or "") <= _TAIL and not (previous[name] or "").rstrip().endswith(_SENTENCE_ENDS)
        for name in filled
    )


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
    """The contract's ``new_occupation_proposal`` fields of a 建议书 layout (Word, PDF or a retyped copy)."""
    return read_proposal(layout)[0]


def read_proposal(layout: Layout) -> tuple[dict[str, Any], list[str]]:
    """The fields of a 建议书, and the paths of the fields whose label or section was not found.

    ``category_ticks`` counts the ticked category boxes so that the check can tell "none ticked" from "two
    ticked" (``category`` is null in both cases); it is null when no category box was found at all.
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
    fields = {
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
        "training_orgs": doc.section_rows("training_orgs", _TRAINING_HEADERS) or None,
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
    return fields, doc.unlocated(ticks)


def _contact_phone(doc: _Document) -> str | None:
    """联系电话 of 九: the one beside 联系人, not a column header of the 用人单位 or 培训机构 tables."""
    person = doc.first("contact.person")
    phones = doc.hits.get("contact.phone", [])
    if person is not None and person.cell is not None:
        for hit in phones:
            if hit.table == person.table and hit.cell is not None and hit.cell.row == person.cell.row:
                return doc.value_at(hit)
    if person is None:
        # Without 联系人 to stand beside, the 联系电话 of 九 is the last one: the tables' columns come before it.
        return doc.value_at(phones[-1]) if phones else None
    after = [hit for hit in phones if hit.order > person.order]
    return doc.value_at(after[0]) if after else None
