"""How the bot writes dates, windows, levels and lists: the register of the notices (2025年6月20日至6月30日)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zhengji.notices.calendar import Position

_CN_DIGITS = "零一二三四五六七八九"
_LEVELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级"}


def days_text(pos: Position) -> str:
    """The days left, as the public page says them: "今天截止", "还剩 9 天", "27 天后开始"."""
    days = pos.days_left()
    if days is None:
        return ""
    if pos.in_window:
        return "今天截止" if days == 0 else f"还剩 {days} 天（{_end_day(pos)}截止）"
    return "明天开始" if days == 1 else f"{days} 天后开始"


def _end_day(pos: Position) -> str:
    assert pos.window is not None
    return f"{pos.window.end.month}月{pos.window.end.day}日"


def levels_text(levels: Sequence[int]) -> str:
    """The catalog's levels "5、4、3" as the answer says them: 五级、四级、三级."""
    return "、".join(_LEVELS.get(level, f"{level}级") for level in levels)


def cn_number(value: int) -> str:
    """一 … 九十九, for the （一）（二） of a numbered list."""
    if not 0 < value < 100:
        return str(value)
    tens, units = divmod(value, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else f"{_CN_DIGITS[tens]}十")
    return head + (_CN_DIGITS[units] if units else "")


def numbered(items: Iterable[str]) -> str:
    """Items as lines "1. …", the way a notice lists its 材料清单."""
    return "\n".join(f"{number}. {item}" for number, item in enumerate(items, 1))


def joined(items: Iterable[str]) -> str:
    """Items run on with 、 and a final 和 ("PDF版和WORD版")."""
    values = list(items)
    if len(values) <= 1:
        return "".join(values)
    return "、".join(values[:-1]) + "和" + values[-1]
