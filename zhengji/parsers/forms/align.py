"""Position as evidence: the labels of a document aligned with the form's own order of fields.

A clerk who meets "申报职业名称" between the category ticks and the alternative names knows what it is without
knowing the wording, and doubts a "职业名称" that turns up among the foreign-countries rows. Words alone cannot
do either; the order of the form can. So the label candidates of a document (cells and lines where labels stand,
in reading order) are aligned with the fields of the form (in the order of the form data) by a global sequence
alignment (Needleman–Wunsch), in two steps:

1. **Words and order.** Each pair (candidate, field) gains ``(score - floor) / (100 - floor)``, ``score`` being
   the wording score of the one scale of :mod:`matching` and :mod:`lexicon` (100 is an accepted wording); a pair
   below the ``floor`` gains nothing and is never aligned. Skipping a candidate (a value, a note) or a field (not
   in this copy, or moved) costs nothing, so the alignment is the order-keeping set of readings with the most
   wording evidence. Rows moved elsewhere fall off it: an accepted wording off it keeps its reading (a clerk
   moved the row), a loose reading off it is doubted (a "职业名称" among the foreign-countries rows is not the
   occupation's name) and left to the next step.
2. **Neighbours.** Between two aligned candidates ("anchors") the candidates left unread and the fields left
   free are aligned once more, by the characters each shares with a field's wordings (:func:`gap_pairs`): a
   pair must share at least ``min_shared`` characters, and a gap may hold at most ``max_gap`` fields, so that
   an unknown wording is read as the field in its place only when both neighbours agree and its words do not
   contradict it.

The thresholds are data (``[matching]`` of ``notices/data/forms/_synonyms.toml``). The same two functions serve
the 建议书's label cells and a table's header cells (where the row's two ends count as neighbours).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["Gap", "gap_pairs", "gaps", "needleman_wunsch"]


def needleman_wunsch(gains: Sequence[Mapping[int, float]], columns: int) -> list[tuple[int, int]]:
    """The order-keeping pairs (row, column) with the largest total gain; gaps are free, so only the pairs that
    gain (``gains[row]``: column → gain, positive) are listed. Rows are the document's candidates, columns the
    form's fields.

    The table is the textbook one (``total[i][j]``: the best of the first ``i`` rows and ``j`` columns); a row
    without gains copies the row above, so only a row's few gaining columns are computed.
    """
    total = [[0.0] * (columns + 1)]
    for row in gains:
        above = total[-1]
        here = above.copy()
        for col in sorted(row):
            value = above[col] + row[col]
            index = col + 1
            while index <= columns and here[index] < value:
                here[index] = value
                index += 1
        total.append(here)
    pairs: list[tuple[int, int]] = []
    i, j = len(gains), columns
    while i > 0 and j > 0:
        value = gains[i - 1].get(j - 1, 0.0)
        if value > 0 and total[i][j] == total[i - 1][j - 1] + value:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif total[i][j] == total[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


@dataclass(frozen=True)
class Gap:
    """Candidates left unread and fields left free between two anchors (or a row's end, where allowed)."""

    candidates: tuple[int, ...]
    fields: tuple[int, ...]


def gaps(
    anchors: Sequence[tuple[int, int]],
    unread: Sequence[int],
    free: Sequence[int],
    *,
    rows: int,
    columns: int,
    edges: bool,
    end: bool = False,
) -> list[Gap]:
    """The gaps between consecutive anchors (candidate, field), each with the unread candidates and free fields
    that lie between them; with ``edges`` the ends of the sequence bound the first and last gap as well (a header
    row has its first and last cell); with ``end`` only its end does (a form's last labels, 电子信箱 and 其他需要
    说明的情况, have the end of the form after them, while a title, a cover note or a page header may stand
    before its first)."""
    bounds = sorted(anchors)
    if edges:
        bounds = [(-1, -1), *bounds, (rows, columns)]
    elif end:
        bounds = [*bounds, (rows, columns)]
    out: list[Gap] = []
    for (left_row, left_col), (right_row, right_col) in pairwise(bounds):
        if right_col <= left_col:
            continue  # anchors out of order: no neighbour agrees
        inside = tuple(row for row in unread if left_row < row < right_row)
        between = tuple(col for col in free if left_col < col < right_col)
        if inside and between:
            out.append(Gap(inside, between))
    return out


def gap_pairs(
    gap: Gap, shared: Callable[[int, int], int], *, min_shared: int, max_gap: int, alone: bool = False
) -> list[tuple[int, int]]:
    """The unread candidates of a gap read as its free fields, in order, each pair sharing at least
    ``min_shared`` characters; none when the gap holds more free fields than ``max_gap`` (too little to go by).

    With ``alone`` (a table's header row, where every cell names a column), one cell left between its neighbours
    where one column is free is that column whatever its words ("Tel" after 单位名称 and 单位地址).
    """
    if len(gap.fields) > max_gap:
        return []
    if alone and len(gap.candidates) == len(gap.fields) == 1:
        return [(gap.candidates[0], gap.fields[0])]

    gains: list[dict[int, float]] = []
    for candidate in gap.candidates:
        row: dict[int, float] = {}
        for col, field in enumerate(gap.fields):
            common = shared(candidate, field)
            if common >= min_shared:
                # One more for any pair: of two readings sharing as much, the one reading more candidates wins.
                row[col] = float(common + 1)
        gains.append(row)
    pairs = needleman_wunsch(gains, len(gap.fields))
    return [(gap.candidates[row], gap.fields[col]) for row, col in pairs]
