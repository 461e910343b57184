"""The window calendar on every boundary a clerk would argue about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from zhengji.clock import SHANGHAI, parse_instant
from zhengji.notices.calendar import outside_window_text, position, upcoming


def at(text: str) -> datetime:
    return parse_instant(text)


def window(pos_window: object) -> tuple[str, str] | None:
    if pos_window is None:
        return None
    return (pos_window.start.isoformat(), pos_window.end.isoformat())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        ("2025-06-19T23:59:59+08:00", False),
        ("2025-06-20T00:00:00+08:00", True),
        ("2025-06-25T12:00:00+08:00", True),
        ("2025-06-30T23:59:59+08:00", True),
        ("2025-07-01T00:00:00+08:00", False),
        ("2025-12-30T23:59:59+08:00", True),
        ("2025-12-31T00:00:00+08:00", False),
        ("2025-12-31T12:00:00+08:00", False),
    ],
)
def test_quarterly_window_edges(instant: str, inside: bool) -> None:
    pos = position("new_occupation", at(instant))
    assert pos.in_window is inside


def test_the_31st_is_outside_and_the_next_quarter_is_next() -> None:
    pos = position("new_occupation", at("2025-03-31T09:00:00+08:00"))
    assert pos.window is None
    assert window(pos.next_window) == ("2025-06-20", "2025-06-30")


def test_inside_a_window_next_is_the_following_quarter() -> None:
    pos = position("new_occupation", at("2025-06-21T10:00:00+08:00"))
    assert window(pos.window) == ("2025-06-20", "2025-06-30")
    assert window(pos.next_window) == ("2025-09-20", "2025-09-30")
    assert pos.notice is not None and pos.notice.number == "沪人社职〔2025〕77号"


def test_december_window_rolls_over_to_next_year() -> None:
    pos = position("new_occupation", at("2025-12-25T10:00:00+08:00"))
    assert window(pos.next_window) == ("2026-03-20", "2026-03-30")


def test_utc_instant_already_next_day_in_shanghai() -> None:
    # 16:30 UTC on the 19th is 00:30 on the 20th in Shanghai: inside.
    instant = datetime(2025, 6, 19, 16, 30, tzinfo=UTC)
    assert position("new_occupation", instant).in_window
    # 16:00 UTC on the 30th is 00:00 on 1 July in Shanghai: outside.
    assert not position("new_occupation", datetime(2025, 6, 30, 16, 0, tzinfo=UTC)).in_window
    # 15:59:59 UTC on the 30th is 23:59:59 on the 30th in Shanghai: still inside.
    assert position("new_occupation", datetime(2025, 6, 30, 15, 59, 59, tzinfo=UTC)).in_window


def test_other_offsets_are_converted_not_read_as_local() -> None:
    new_york = timezone(timedelta(hours=-4))
    # 12:00 on 19 June in New York is 00:00 on 20 June in Shanghai.
    assert position("new_occupation", datetime(2025, 6, 19, 12, 0, tzinfo=new_york)).in_window


def test_naive_instant_means_shanghai_time() -> None:
    assert position("new_occupation", datetime(2025, 6, 20, 0, 0)).in_window
    assert not position("new_occupation", datetime(2025, 6, 19, 23, 59)).in_window


def test_windows_begin_with_their_notice() -> None:
    # 77号 is dated 2025-03-20: no window before it.
    pos = position("new_occupation", at("2024-12-25T10:00:00+08:00"))
    assert pos.window is None
    assert window(pos.next_window) == ("2025-03-20", "2025-03-30")


@pytest.mark.parametrize(
    ("instant", "current", "following", "notice"),
    [
        ("2024-09-24T23:59:59+08:00", None, ("2024-09-25", "2024-10-22"), "沪人社职〔2024〕319号"),
        (
            "2024-09-25T00:00:00+08:00",
            ("2024-09-25", "2024-10-22"),
            ("2025-03-20", "2025-03-30"),
            "沪人社职〔2024〕319号",
        ),
        (
            "2024-10-22T23:59:59+08:00",
            ("2024-09-25", "2024-10-22"),
            ("2025-03-20", "2025-03-30"),
            "沪人社职〔2024〕319号",
        ),
        ("2024-10-23T00:00:00+08:00", None, ("2025-03-20", "2025-03-30"), "沪人社职〔2025〕76号"),
        ("2024-12-25T00:00:00+08:00", None, ("2025-03-20", "2025-03-30"), "沪人社职〔2025〕76号"),
        (
            "2025-03-25T00:00:00+08:00",
            ("2025-03-20", "2025-03-30"),
            ("2025-06-20", "2025-06-30"),
            "沪人社职〔2025〕76号",
        ),
    ],
)
def test_skill_level_track_joins_the_2024_period_and_the_2025_quarters(
    instant: str, current: tuple[str, str] | None, following: tuple[str, str], notice: str
) -> None:
    pos = position("skill_level_occupation", at(instant))
    assert window(pos.window) == current
    assert window(pos.next_window) == following
    assert pos.notice is not None and pos.notice.number == notice


def test_the_2024_period_ends_in_shanghai_even_for_a_utc_instant() -> None:
    # 2024-10-22T16:00Z is already 2024-10-23 in Shanghai: closed.
    assert not position("skill_level_occupation", datetime(2024, 10, 22, 16, 0, tzinfo=UTC)).in_window
    assert position("skill_level_occupation", datetime(2024, 10, 22, 15, 59, tzinfo=UTC)).in_window


@pytest.mark.parametrize(
    ("day", "current", "following"),
    [
        ("2026-06-01", None, ("2026-06-02", "2026-08-10")),
        ("2026-06-02", ("2026-06-02", "2026-08-10"), ("2026-08-11", "2026-12-31")),
        ("2026-08-10", ("2026-06-02", "2026-08-10"), ("2026-08-11", "2026-12-31")),
        ("2026-08-11", ("2026-08-11", "2026-12-31"), ("2027-01-01", "2027-05-31")),
        ("2026-12-31", ("2026-08-11", "2026-12-31"), ("2027-01-01", "2027-05-31")),
        ("2027-01-01", ("2027-01-01", "2027-05-31"), ("2027-06-01", "2027-12-31")),
        ("2027-05-31", ("2027-01-01", "2027-05-31"), ("2027-06-01", "2027-12-31")),
        ("2027-06-01", ("2027-06-01", "2027-12-31"), ("2028-01-01", "2028-05-31")),
        ("2027-12-31", ("2027-06-01", "2027-12-31"), ("2028-01-01", "2028-05-31")),
    ],
)
def test_guangdong_periods_end_on_the_deadlines(
    day: str, current: tuple[str, str] | None, following: tuple[str, str]
) -> None:
    pos = position("gd_new_occupation", datetime.fromisoformat(day).replace(hour=12, tzinfo=SHANGHAI))
    assert window(pos.window) == current
    assert window(pos.next_window) == following
    assert pos.notice is not None and pos.notice.number == "粤人社函〔2026〕159号"


def test_guangdong_deadline_evening_in_utc_is_the_next_period() -> None:
    pos = position("gd_new_occupation", datetime(2026, 8, 10, 16, 0, tzinfo=UTC))
    assert window(pos.window) == ("2026-08-11", "2026-12-31")


@pytest.mark.parametrize(("year", "last"), [(2026, "2026-02-28"), (2027, "2027-02-28"), (2028, "2028-02-29")])
def test_february_window_ends_on_the_last_day(year: int, last: str) -> None:
    windows = upcoming("special_ability_project", date(year, 1, 1), 1)
    assert window(windows[0]) == (f"{year}-02-20", last)
    assert position("special_ability_project", at(f"{last}T23:59:59+08:00")).in_window
    assert not position("special_ability_project", at(f"{year}-03-01T00:00:00+08:00")).in_window


def test_special_ability_tracks_have_their_own_months() -> None:
    project = upcoming("special_ability_project", date(2025, 5, 12), 4)
    institution = upcoming("special_ability_institution", date(2025, 5, 12), 4)
    assert [w.start.isoformat() for w in project] == ["2025-05-20", "2025-08-20", "2025-11-20", "2026-02-20"]
    assert [w.start.isoformat() for w in institution] == ["2025-06-20", "2025-09-20", "2025-12-20", "2026-03-20"]


def test_days_left_counts_to_the_close_and_to_the_opening() -> None:
    assert position("new_occupation", at("2025-06-30T08:00:00+08:00")).days_left() == 0
    assert position("new_occupation", at("2025-06-21T08:00:00+08:00")).days_left() == 9
    assert position("new_occupation", at("2025-06-18T08:00:00+08:00")).days_left() == 2


def test_upcoming_starts_with_the_window_holding_the_date() -> None:
    found = upcoming("skill_level_occupation", date(2024, 10, 1), 3)
    assert [window(w) for w in found] == [
        ("2024-09-25", "2024-10-22"),
        ("2025-03-20", "2025-03-30"),
        ("2025-06-20", "2025-06-30"),
    ]


@pytest.mark.parametrize(
    ("track", "instant", "timing"),
    [
        # Before the track's first window: 77号 opens on its own date, 159号 is not yet published on 05-20.
        ("new_occupation", "2025-03-01T10:00:00+08:00", "not_started"),
        ("gd_new_occupation", "2026-05-20T10:00:00+08:00", "not_started"),
        ("special_ability_project", "2025-05-13T10:00:00+08:00", "not_started"),
        # Between two windows of a recurring collection: early for the next, not late for the last.
        ("special_ability_project", "2025-08-15T10:00:00+08:00", "between"),
        ("new_occupation", "2025-07-01T00:00:00+08:00", "between"),
        ("new_occupation", "2025-06-30T23:59:59+08:00", "open"),
        # 319号's one period ended on 2024-10-22; the 76号 quarters that follow do not make it early.
        ("skill_level_occupation", "2024-10-22T23:59:59+08:00", "open"),
        ("skill_level_occupation", "2024-10-23T00:00:00+08:00", "ended"),
        ("skill_level_occupation", "2025-03-19T10:00:00+08:00", "ended"),
        ("skill_level_occupation", "2025-04-01T10:00:00+08:00", "between"),
    ],
)
def test_early_is_not_late(track: str, instant: str, timing: str) -> None:
    pos = position(track, at(instant))
    assert pos.timing == timing
    assert pos.early == (timing in {"not_started", "between"})
    assert pos.late == (timing == "ended")


def test_the_outside_window_message_says_early_or_late_and_when_to_send() -> None:
    early = outside_window_text(position("special_ability_project", at("2025-08-15T10:00:00+08:00")), "推荐")
    assert early == (
        "本邮件于2025年8月15日收到，推荐下一期尚未开始受理（上一期已于2025年5月30日结束）。"
        "下一期受理时间为2025年8月20日至8月30日，请届时重新发送。"
    )
    late = outside_window_text(position("skill_level_occupation", at("2024-11-15T10:00:00+08:00")), "征集")
    assert late == (
        "本邮件于2024年11月15日收到，沪人社职〔2024〕319号规定的征集已于2024年10月22日截止，逾期不予受理。"
        "此后的征集按沪人社职〔2025〕76号开展，下一期受理时间为2025年3月20日至3月30日，请届时重新发送。"
    )
