"""A free TCP port on loopback for a server a test starts."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on now; the caller binds it at once (a race with other programs is unlikely here)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
