"""Parsing runs below intake: the parser workers (and what they start) at ``ZHENGJI_PARSE_NICE``."""

from __future__ import annotations

import os
import subprocess

from zhengji.parsers import isolation
from zhengji.parsers.isolation import WorkerPool, set_parse_priority, worker_pool
from zhengji.settings import load_settings


def nice_values() -> list[int]:
    """In the worker: its own nice value, and that of a program it starts (as it starts LibreOffice)."""
    child = subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout.strip()
    return [os.getpriority(os.PRIO_PROCESS, 0), int(child)]


def test_a_worker_and_what_it_starts_run_at_the_parse_nice_value() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with WorkerPool(method="fork", size=1, nice=own + 7) as pool:
        assert pool.call(nice_values) == [own + 7, own + 7]
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the service itself keeps its priority


def test_serve_sets_the_priority_of_the_pools_it_starts() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        set_parse_priority(load_settings(parse_nice=own + 3).parse_nice)
        with worker_pool("fork") as pool:
            assert pool.call(nice_values)[0] == own + 3
    finally:
        set_parse_priority(0)
        isolation.shutdown_pool()


def test_the_default_is_ten_and_a_command_line_run_is_not_lowered() -> None:
    assert load_settings().parse_nice == 10
    assert WorkerPool(method="fork", size=1).nice == 0
