"""The doorbell between intake and the mailbox workers inside one ``zhengji serve``.

The workers find work by polling the database, which is what lets several processes and machines share it. But
a worker that has just polled would leave a new mail waiting until its next poll (up to 0.2 s, a fifth of the
whole second an applicant should wait for the answer). Intake in the same process rings the bell once the mail
is stored, and the idle workers poll at once; the workers that check a mail ring the senders' bell the same way.
In ``zhengji serve`` the workers run in a child process: intake writes a byte to a pipe, and a thread of the child
rings this bell for it (:class:`zhengji.mailbox.workers.PipelineProcess`).
Ringing is only a hint: a lost ring costs one poll interval, never a mail, because the database stays the only
record of what is waiting.

The workers are threads, so the bell is a condition variable with a ring counter: a worker notes the count
before it polls and waits only while the count is unchanged, so a ring between its poll and its wait is not lost.
"""

from __future__ import annotations

import threading


class Doorbell:
    """Wakes the idle workers of this process; every method is safe from any thread."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rings = 0

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    def mark(self) -> int:
        """The ring count now; pass it to :meth:`wait` after polling."""
        with self._condition:
            return self._rings

    def wait(self, mark: int, timeout: float) -> bool:
        """Until the bell rings after ``mark`` was taken, or ``timeout`` passes; True when it rang."""
        with self._condition:
            return self._condition.wait_for(lambda: self._rings != mark, timeout=timeout)
