"""The parser version stored beside every document: it changes whenever what parsing yields may change.

It is the package version plus a digest of the form data (labels, wordings, required fields) and of the parser
code, so that a new accepted wording or a reader fix gives a new version without anyone remembering to bump a
number, and ``zhengji reprocess --outdated`` can pick every case that an older parser read.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from zhengji import __version__
from zhengji.notices.forms import forms_digest

_PARSERS = Path(__file__).resolve().parent


@cache
def parser_version() -> str:
    """``0.1.0+`` and twelve hex digits: short enough for the documents' 32-character column."""
    digest = hashlib.sha256(forms_digest().encode())
    for path in sorted(_PARSERS.rglob("*.py")):
        digest.update(path.relative_to(_PARSERS).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"
