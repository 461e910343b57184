"""Word segmentation with jieba: where the words of a question begin and end.

Chinese has no spaces, so "汽车工程师" holds the catalog's "车工" as characters but not as a word; the bot
matches a short occupation name only where a word boundary says it stands on its own, and takes the words
left over after the question words (能、报、吗…) as the name the applicant asked about.

jieba's dictionary ships inside its package; nothing is downloaded. The bot uses its own tokenizer, with the
catalog's names and the notices' terms added as words, so that nothing else in the process is affected.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

with warnings.catch_warnings():
    # jieba reaches its dictionary through pkg_resources where setuptools has it, which newer setuptools
    # announces as deprecated; the dictionary is read all the same.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", UserWarning)
    import jieba

_LOCK = threading.Lock()
# A frequency high enough that an added term wins over the dictionary's splits of it.
_TERM_FREQUENCY = 200_000


@dataclass(frozen=True)
class Token:
    word: str
    start: int
    end: int


class Segmenter:
    """A jieba tokenizer that knows zhengji's terms; thread-safe once built."""

    def __init__(self, terms: Iterable[str]) -> None:
        jieba.setLogLevel(logging.WARNING)  # "Building prefix dict…" is noise in a service log
        self._tokenizer = jieba.Tokenizer()
        with _LOCK:
            self._tokenizer.initialize()
            for term in terms:
                if term.strip():
                    self._tokenizer.add_word(term, freq=_TERM_FREQUENCY)

    def tokens(self, text: str) -> list[Token]:
        """The words of ``text`` with their offsets; HMM off, so that an unknown character stays on its own
        instead of being glued to its neighbour ("训连师" must not become one made-up word)."""
        return [Token(word, start, end) for word, start, end in self._tokenizer.tokenize(text, HMM=False)]


@cache
def segmenter() -> Segmenter:
    """The bot's segmenter, built on first use with the catalog's names and the bot's vocabulary."""
    from zhengji.bot.catalog import catalog_index
    from zhengji.bot.vocabulary import vocabulary

    return Segmenter([*catalog_index().terms(), *vocabulary().spec.segmenter.terms])
