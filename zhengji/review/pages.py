"""On which page of a PDF copy a field's value stands, so that a click on the field opens the PDF there.

The parsers do not record pages (a field is read from a layout whose blocks carry no page number), and adding it
there would touch every reader and form. Locating is a reviewer's need, not the pipeline's: so the page is found
when a reviewer opens the case, by looking for the value's text on each page. The PDF is an applicant's file, so
its pages are read in a parser worker (the same isolation as parsing: time and memory limits, answers as JSON),
never in the web server itself; the pages' text is kept in memory by the file's sha256, so each PDF is read once.
A value too short to be told apart (是, 1) or not found gets no page, and the pane then stays where it is.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_PAGES = 40  # a form is at most about 15 pages; a longer file is not searched beyond this
SHORTEST = 4  # characters a value needs (after folding) before its first occurrence is believed
PROBE = 16  # how much of a long value is looked for: a cell's text wraps, and a long text crosses pages
SECONDS = 5.0
_CACHE_SIZE = 64
_HYPHENS = str.maketrans(dict.fromkeys("-\u00ad\u2010\u2011", ""))


def fold(text: str) -> str:
    """Text as compared with a page's: full/half width, whitespace, line breaks and hyphens do not count."""
    return "".join(unicodedata.normalize("NFKC", text).split()).translate(_HYPHENS)


def page_texts(data: bytes) -> list[str]:
    """Each page's text, folded. Runs in a parser worker (module-level, JSON result)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        texts = []
        for index in range(min(len(document), MAX_PAGES)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                texts.append(fold(textpage.get_text_range()))
            finally:
                textpage.close()
                page.close()
        return texts
    finally:
        document.close()


def page_of(texts: list[str], value: str) -> int | None:
    """The 1-based page where ``value`` first stands, or None when it is too short to tell or not found."""
    wanted = fold(value)
    if len(wanted) < SHORTEST:
        return None
    probe = wanted[:PROBE]
    for number, text in enumerate(texts, start=1):
        if probe in text:
            return number
    return None


class PageIndex:
    """The pages' text of the PDFs reviewers open, by sha256, read in a worker once each (a small LRU)."""

    def __init__(self, read: Callable[[bytes], list[str]] | None = None) -> None:
        self._read = read or _read_isolated
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def texts(self, sha256: str, load: Callable[[], bytes]) -> list[str]:
        """The pages of the PDF with ``sha256``; ``load`` gives its bytes when they are not known yet.

        A PDF that cannot be read (or a worker that fails) gives no pages: the case page then shows no page
        links, which costs the reviewer a scroll, never the page.
        """
        with self._lock:
            if sha256 in self._cache:
                self._cache.move_to_end(sha256)
                return self._cache[sha256]
        from zhengji.parsers.isolation import PoolBusy, PoolUnavailable

        try:
            texts = self._read(load())
        except (PoolBusy, PoolUnavailable) as error:  # not remembered: a worker may be free at the next look
            log.info("pages of %s not read now: %s", sha256[:12], error)
            return []
        except Exception as error:  # a hostile or broken file, a failed worker: remembered as no page numbers
            log.info("pages of %s not read: %s", sha256[:12], error)
            texts = []
        with self._lock:
            self._cache[sha256] = texts
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return texts


def _read_isolated(data: bytes) -> list[str]:
    from zhengji.parsers.isolation import Limits, worker_pool

    limits = Limits()
    with worker_pool("forkserver").conversation(limits.memory_bytes, wait=SECONDS) as talk:
        answer = talk.request({"task": f"{__name__}:page_texts", "args": []}, SECONDS, data)
    result = answer.get("result")
    if not isinstance(result, list) or not all(isinstance(text, str) for text in result):
        raise ValueError(f"the worker answered {sorted(answer)}")
    return result


PAGES = PageIndex()
