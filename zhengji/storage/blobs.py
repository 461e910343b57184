"""The content-addressed blob store for raw mail and attachments.

A blob is written to a temporary file, fsynced, renamed into place and its directory fsynced before
``put`` returns, so that a row may refer to it and an SMTP ``250`` may be answered: after a power cut the
bytes are there or the sender was never told they were. Processing never deletes a blob.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobNotFound(KeyError):
    """No blob is stored under that digest."""


class BlobStore:
    """Files named by their SHA-256, fanned out as ``ab/cd/abcd…`` to keep directories small."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Fan-out directories (``abcd`` for ``ab/cd``) whose own entries are known to be on disk: they are fsynced
        # into their parents once per store, not once per blob, which saves the SMTP server a sync a mail.
        self._durable_dirs: set[str] = set()

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256; storing the same bytes twice is a no-op."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        self._make_directory(digest[:4], target.parent)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(target.parent)
        return digest

    def _make_directory(self, key: str, directory: Path) -> None:
        """Create ``ab/cd`` and make its entry and its parent's durable, before a blob in it is relied on."""
        if key in self._durable_dirs:
            return
        directory.mkdir(parents=True, exist_ok=True)
        _fsync_directory(directory.parent)
        _fsync_directory(directory.parent.parent)
        self._durable_dirs.add(key)

    def get(self, digest: str) -> bytes:
        """The stored bytes, checked against their name so that a damaged disk is noticed, not served."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise OSError(f"blob {digest} is damaged on disk")
        return data

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
