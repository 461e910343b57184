"""Whose claim is whose: names that tell two instances apart, and a dead worker only where its pid can be seen.

Two ``zhengji serve`` on one machine differ by pid; two machines cloned from one image (or containers sharing the
host's name) differ by where their pids live. A starting service frees at once the claims of its own host's dead
workers; a claim of a worker it cannot see must wait for its lease, or a live worker's mail is taken over while it
is being answered.
"""

from __future__ import annotations

import socket
import subprocess
import sys

from zhengji.storage.claims import holder_is_gone, host_name, worker_name

NAME = "from zhengji.storage.claims import host_name, worker_name; print(host_name()); print(worker_name(0))"


def another_process() -> tuple[str, str]:
    """(host_name(), worker_name(0)) as another process of this machine computes them; it has ended on return."""
    finished = subprocess.run([sys.executable, "-c", NAME], capture_output=True, text=True, check=True)
    host, worker = finished.stdout.split()
    return host, worker


def test_two_processes_of_one_machine_share_the_host_and_have_names_of_their_own() -> None:
    host, worker = another_process()
    assert host == host_name()  # so that a restarted service recognises its predecessor's claims
    assert worker != worker_name(0)
    assert holder_is_gone(worker)  # that process ended: its claim is freed at once
    assert not holder_is_gone(worker_name(0))  # this one runs


def test_a_worker_of_another_machine_with_the_same_host_name_is_not_taken_for_dead() -> None:
    _, worker = another_process()
    pid_and_start = worker.split(":", 1)[1]
    # The same host name and a pid that is free here: on a machine cloned from this one it may well be running.
    clone = f"{socket.gethostname()[:64]}:{pid_and_start}"
    assert clone != worker
    assert not holder_is_gone(clone)
    assert not holder_is_gone(f"{socket.gethostname()[:64]}~00000000:{pid_and_start}")
