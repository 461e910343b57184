"""The doorbell between intake and the mailbox workers inside one ``zhengji serve``.

The workers find work by polling the database, which is what lets several processes and machines share it. But
a worker that has just polled would leave a new mail waiting until its next poll (up to 0.2 s, a fifth of the
whole second an applicant should wait for the answer). Intake in the same process rings the bell once the mail
is stored, and the idle workers poll at once. Ringing is only a hint: a lost ring costs one poll interval, never
a mail, because the database stays the only record of what is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib


class Doorbell:
    """Wakes the idle workers of this process; ``ring`` is safe from any thread, the rest runs on the loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def attach(self) -> None:
        """Bind to the running event loop (the service's), where the workers wait."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def ring(self) -> None:
        loop, event = self._loop, self._event
        if loop is None or event is None:
            return  # no worker waits in this process (a command, a test without workers)
        with contextlib.suppress(RuntimeError):  # the loop closed while the service stopped
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        """Until the bell rings or ``timeout`` passes, whichever comes first."""
        assert self._event is not None, "attach() the doorbell to the workers' loop first"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=timeout)
        self._event.clear()
