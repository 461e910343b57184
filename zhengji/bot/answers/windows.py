"""When: the current or next window of each track and the days left, judged in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

from zhengji.bot.wording import days_text
from zhengji.clock import SHANGHAI, shanghai_date
from zhengji.notices.calendar import Position, Window, cn_date, cn_window, position, windows
from zhengji.notices.registry import Track, load_registry

_DEADLINE_TRACKS = frozenset({Track.gd_new_occupation})
"""Tracks whose notice sets report deadlines rather than windows (粤人社函〔2026〕159号 四、时间安排)."""


def track_name(track: Track) -> str:
    """The track's name as its latest notice gives it."""
    return load_registry().track_rules(track)[-1][1].name


def window_line(track: Track, moment: datetime) -> str:
    """One track's window facts in one sentence or two, naming the notice that sets them."""
    return _window_line(track, shanghai_date(moment))


@lru_cache(maxsize=256)
def _window_line(track: Track, day: date) -> str:
    """Windows are judged on the Shanghai date alone, so a day's sentence is computed once."""
    registry = load_registry()
    pos = position(track, datetime.combine(day, time(12), tzinfo=SHANGHAI), registry)
    name = track_name(track)
    notice = pos.notice or registry.track_rules(track)[-1][0]
    head = f"{name}（{notice.number}）"
    if track in _DEADLINE_TRACKS:
        return _deadline_line(head, pos)
    if pos.window:
        line = f"{head}：本期受理时间为{cn_window(pos.window)}，正在受理，{days_text(pos)}。"
        if pos.next_window:
            line += f"下一期为{cn_window(pos.next_window)}。"
        return line
    if pos.next_window:
        return f"{head}：目前不在受理时间内。下一期受理时间为{cn_window(pos.next_window)}，{days_text(pos)}。"
    last = None
    for window in windows(track, registry):
        last = window
    ended = f"已于{cn_date(last.end)}截止" if last else "已截止"
    return f"{head}：{ended}，目前没有后续受理安排，请以后续通知为准。"


def _deadline_line(head: str, pos: Position) -> str:
    """A deadline track: what the province's notice fixes is the day the cities report by, not a window."""
    window: Window | None = pos.window
    upcoming: Window | None = pos.next_window
    days = pos.days_left()
    if window is not None:
        left = "今天截止" if days == 0 else f"还剩 {days} 天"
        line = f"{head}：本期征集结果由各地市人力资源社会保障部门于{cn_date(window.end)}前报送省厅，{left}。"
        if upcoming is not None:
            line += f"下一期报送截止日为{cn_date(upcoming.end)}。"
    elif upcoming is not None:
        line = (
            f"{head}：征集自{cn_date(upcoming.start)}起开展，首期报送截止日为{cn_date(upcoming.end)}，{days} 天后开始。"
        )
    else:
        line = f"{head}：目前没有后续报送安排，请以后续通知为准。"
    return line + "申报单位或个人按属地化管理原则报所在地市人力资源社会保障部门，具体时间以所在地市的安排为准。"


def answer_windows(tracks: list[Track], moment: datetime) -> str:
    """The windows of ``tracks`` (of every track when none was named), dated today in Beijing time."""
    chosen = tracks or load_registry().tracks()
    today = cn_date(shanghai_date(moment))
    lines = [window_line(track, moment) for track in chosen]
    intro = f"今天是{today}（北京时间）。"
    if len(lines) == 1:
        return intro + lines[0]
    return (
        intro + "各征集事项的受理时间如下：\n" + "\n".join(f"{number}. {line}" for number, line in enumerate(lines, 1))
    )
