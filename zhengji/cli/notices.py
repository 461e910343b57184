"""``zhengji notices`` and ``zhengji windows``: what a clerk asks first — which windows are open."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum

import typer
from rich.table import Table

from zhengji.cli.context import app, console, context, fail
from zhengji.clock import shanghai_date
from zhengji.notices.calendar import Position, position, upcoming
from zhengji.notices.registry import Notice, Registry, Track, TrackRule, load_registry

TrackChoice = StrEnum("TrackChoice", {track.value: track.value for track in Track})  # type: ignore[misc]


def _days(pos: Position) -> str:
    days = pos.days_left()
    if days is None:
        return "—"
    if pos.in_window:
        return "今天截止" if days == 0 else f"还剩 {days} 天"
    return f"{days} 天后开始"


@app.command("notices")
def notices_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出。 Print JSON."),
) -> None:
    """列出各征集事项、所依据的通知、当前与下一受理窗口。 List the tracks, their notices and windows."""
    shared = context(ctx)
    moment = shared.now()
    registry = load_registry()
    rows = []
    for track in registry.tracks():
        rules = registry.track_rules(track)
        pos = position(track, moment, registry)
        rows.append((track, rules, pos))
    if as_json:
        for track, rules, pos in rows:
            record = {
                "track": track.value,
                "name": rules[-1][1].name,
                "notices": [notice.number for notice, _ in rules],
                "notice": pos.notice.number if pos.notice else None,
                "mailbox": rules[-1][1].mailbox,
                "in_window": pos.in_window,
                "window": pos.window.as_json() if pos.window else None,
                "next_window": pos.next_window.as_json() if pos.next_window else None,
                "days_left": pos.days_left(),
            }
            console.print_json(json.dumps(record, ensure_ascii=False))
        return
    headers = ("事项 Track", "依据通知 Notices", "受理邮箱 Mailbox", "当前窗口 Open", "下一窗口 Next", "剩余 Days")
    today = shanghai_date(moment)
    lines = [
        (
            rules[-1][1].name,
            track.value,
            [_notice_state(registry, notice, rule, today) for notice, rule in rules],
            rules[-1][1].mailbox,
            str(pos.window) if pos.window else "未开放",
            str(pos.next_window) if pos.next_window else "无",
            _days(pos),
        )
        for track, rules, pos in rows
    ]
    if not console.is_terminal:
        # Piped to another program: whole values, one line a track, tab-separated (Rich would cut them to fit
        # 80 columns, "沪人社职 …").
        print("\t".join(headers))
        for name, key, notices, *rest in lines:
            print("\t".join([f"{name} ({key})", "；".join(notices), *rest]))
        return
    table = Table(title=f"征集事项与受理窗口（{today.isoformat()}，北京时间）")
    for header in headers:
        table.add_column(header)
    for name, key, notices, *rest in lines:
        table.add_row(f"{name}\n[dim]{key}[/dim]", "\n".join(notices), *rest)
    console.print(table)


def _notice_state(registry: Registry, notice: Notice, rule: TrackRule, today: date) -> str:
    """The notice's number, marked when its own period is over and another notice replaced it."""
    from zhengji.web.overview import ended_on, successor

    last = ended_on(rule)
    if last is None or last >= today:
        return notice.number
    replaced_by = successor(registry, notice, rule)
    tail = f"，由{replaced_by.number}接替" if replaced_by else ""
    return f"{notice.number}（已于{last.isoformat()}结束{tail}）"


@app.command("windows")
def windows_command(
    ctx: typer.Context,
    track: TrackChoice = typer.Argument(..., help="征集事项，如 new_occupation。 The track."),
    start: str | None = typer.Option(
        None,
        "--from",
        metavar="DATE",
        help="从该日起（默认今天，北京时间）。 From this date (default: today).",
    ),
    count: int = typer.Option(4, "--count", min=1, max=200, help="列出几个窗口。 How many windows."),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出。 Print JSON."),
) -> None:
    """列出某一事项从某日起的受理窗口。 List a track's windows from a date on."""
    shared = context(ctx)
    today = shanghai_date(shared.now())
    try:
        since = date.fromisoformat(start) if start else today
    except ValueError:
        raise fail(f"--from 应为日期，例如 2025-06-20，而不是 {start!r}", code=2) from None
    found = upcoming(track.value, since, count)
    if as_json:
        for window in found:
            record = {**window.as_json(), "notice": window.notice.number}
            console.print_json(json.dumps(record, ensure_ascii=False))
        return
    table = Table(title=f"{track.value} 的受理窗口（自 {since.isoformat()} 起）")
    for header in ("#", "开始 Start", "结束 End", "依据 Notice", "状态 State"):
        table.add_column(header)
    for number, window in enumerate(found, 1):
        state = "进行中" if window.holds(today) else ("未开始" if window.start > today else "已结束")
        table.add_row(str(number), window.start.isoformat(), window.end.isoformat(), window.notice.number, state)
    if not found:
        console.print("该事项此后没有受理窗口。")
        return
    console.print(table)
