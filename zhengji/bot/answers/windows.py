"""When: the current or next window of each track and the days left, judged in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

from zhengji.bot.asof import pin_for
from zhengji.bot.facts import Stage, TrackFacts, track_facts
from zhengji.bot.wording import days_text
from zhengji.clock import SHANGHAI, shanghai_date
from zhengji.notices.calendar import (
    Window,
    cn_date,
    cn_window,
    opening_text,
    position,
    standing_text,
)
from zhengji.notices.registry import MonthlyRule, Track, load_registry

_DEADLINE_TRACKS = frozenset({Track.gd_new_occupation})
"""Tracks whose notice sets report deadlines rather than windows (粤人社函〔2026〕159号 四、时间安排)."""


def track_name(track: Track) -> str:
    """The track's name as its latest notice gives it."""
    return load_registry().track_rules(track)[-1][1].name


def window_line(track: Track, moment: datetime) -> str:
    """One track's window facts in one sentence or two, naming the notice that sets them."""
    return _window_line(track, shanghai_date(moment), pin_for(track))


@lru_cache(maxsize=256)
def _window_line(track: Track, day: date, pin: str | None) -> str:
    """Windows are judged on the Shanghai date alone, so a day's sentence is computed once. A notice dated after
    ``day`` is not known yet: no window of it is announced (at 2024-10-15, 76号's quarters do not exist)."""
    del pin  # part of the cache key: track_facts reads the pin itself
    facts = track_facts(track, datetime.combine(day, time(12), tzinfo=SHANGHAI))
    if facts.notice is None or facts.rule is None:
        return f"{facts.name}：目前尚无该征集事项的通知，暂不受理，请以通知发布后的安排为准。"
    head = f"{facts.rule.name}（{facts.notice.number}）"
    if track in _DEADLINE_TRACKS:
        return _deadline_line(head, facts)
    if facts.stage is Stage.open and facts.window is not None:
        pos = position(track, datetime.combine(day, time(12), tzinfo=SHANGHAI))
        line = f"{head}：本期受理时间为{cn_window(facts.window)}，正在受理，{days_text(pos)}。"
        if facts.next_window:
            line += f"下一期为{cn_window(facts.next_window)}。"
        return line
    if facts.stage is Stage.between:
        pos = position(track, datetime.combine(day, time(12), tzinfo=SHANGHAI))
        # Early is not late: before a window the collection "has not started", only after its notice's end "截止".
        return f"{head}：目前不在受理时间内，{standing_text(pos)}{opening_text(pos)[:-1]}，{days_text(pos)}。"
    ended = f"已于{cn_date(facts.last_window.end)}截止" if facts.last_window else "已截止"
    return f"{head}：{ended}，目前没有后续受理安排，请以后续通知为准。"


def _deadline_line(head: str, facts: TrackFacts) -> str:
    """A deadline track: what the province's notice fixes is the day the cities report by, not a window; after
    its dated deadlines it repeats every year (159号 四: 2026-08-10, 2026-12-31, then 05-31 and 12-31)."""
    window: Window | None = facts.window
    upcoming: Window | None = facts.next_window
    rule = facts.rule
    yearly = ""
    if rule is not None and rule.window.kind == "deadlines":
        dated = "、".join(cn_date(deadline) for deadline in rule.window.deadlines)
        months = "和".join(f"{int(item[:2])}月{int(item[3:])}日" for item in rule.window.yearly)
        yearly = f"通知规定的报送截止日为{dated}，此后每年{months}前报送。"
    if window is not None:
        days = (window.end - facts.day).days
        left = "今天截止" if days == 0 else f"还剩 {days} 天"
        line = f"{head}：本期征集结果由各地市人力资源社会保障部门于{cn_date(window.end)}前报送省厅，{left}。"
        if upcoming is not None:
            line += f"下一期报送截止日为{cn_date(upcoming.end)}。"
        line += yearly
    elif upcoming is not None:
        line = f"{head}：征集自{cn_date(upcoming.start)}起开展，首期报送截止日为{cn_date(upcoming.end)}。{yearly}"
    else:
        line = f"{head}：目前没有后续报送安排，请以后续通知为准。"
    return line + "申报单位或个人按属地化管理原则报所在地市人力资源社会保障部门，具体时间以所在地市的安排为准。"


def answer_windows(tracks: list[Track], moment: datetime) -> str:
    """The windows of ``tracks`` (of every track when none was named), dated today in Beijing time."""
    chosen = tracks or load_registry().tracks()
    today = cn_date(shanghai_date(moment))
    intro = f"今天是{today}（北京时间）。"
    if len(chosen) == 1:
        return intro + window_line(chosen[0], moment)
    # Several tracks: one short line each (the window and the days), so that the list reads on a phone.
    lines = [_short_line(track, shanghai_date(moment), pin_for(track)) for track in chosen]
    return (
        intro + "各征集事项的受理时间如下：\n" + "\n".join(f"{number}. {line}" for number, line in enumerate(lines, 1))
    )


@lru_cache(maxsize=256)
def _short_line(track: Track, day: date, pin: str | None) -> str:
    """One track's window in a few words: open until when, next from when, ended, or no notice yet."""
    del pin  # part of the cache key: track_facts reads the pin itself
    noon = datetime.combine(day, time(12), tzinfo=SHANGHAI)
    facts = track_facts(track, noon)
    if facts.notice is None or facts.rule is None:
        return f"{facts.name}：目前尚无该征集事项的通知"
    name = f"{facts.rule.name}（{facts.notice.number}）"
    pos = position(track, noon)
    if track in _DEADLINE_TRACKS:
        if facts.window is not None:
            return f"{name}：本期各地市于{cn_date(facts.window.end)}前报送省厅，还剩 {(facts.window.end - day).days} 天"
        if facts.next_window is not None:
            return f"{name}：首期报送截止日为{cn_date(facts.next_window.end)}"
    elif facts.stage is Stage.open and facts.window is not None:
        later = f"；下一期为{cn_window(facts.next_window)}" if facts.next_window else ""
        return f"{name}：正在受理，本期为{cn_window(facts.window)}，{days_text(pos)}{later}"
    elif facts.stage is Stage.between and facts.next_window is not None:
        return f"{name}：下一期为{cn_window(facts.next_window)}，{days_text(pos)}"
    ended = f"已于{cn_date(facts.last_window.end)}截止" if facts.last_window else "已截止"
    return f"{name}：{ended}，目前没有后续受理安排"


def rhythm_line(track: Track, moment: datetime) -> str:
    """How a quarterly collection recurs, from its notice's window rule ("每年3月、6月、9月、12月的20日至30日"):
    the answer to "是每季度最后一个月的下旬吗", which today's window alone does not give. Empty for a track whose
    windows are no monthly rule (159号's deadlines, 319号's one period)."""
    facts = track_facts(track, moment)
    if facts.rule is None or facts.notice is None or not isinstance(facts.rule.window, MonthlyRule):
        return ""
    window = facts.rule.window
    months = "、".join(f"{month}月" for month in window.months)
    return (
        f"{facts.rule.name}（{facts.notice.number}）每季度受理一次：每年{months}的"
        f"{window.first_day}日至{window.last_day}日。"
    )
