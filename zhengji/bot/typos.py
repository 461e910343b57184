"""Typos by sound and by shape, repaired before a question is read.

Applicants type Chinese with pinyin input methods, so a wrong character is most often a homophone chosen from
the candidate list (坚定 for 鉴定, 直业 for 职业): the same syllables, tones ignored. A word that sounds like one
of the notices' terms (``data/vocabulary.toml`` ``[typos]``) and shares a character with it is read as that
term; the shared character keeps unrelated words of the same sound alone (有项 is not 邮箱). A term of four or
more characters typed with one character wrong (自助经力系统) is a typo by shape or slip (rapidfuzz's
Levenshtein distance 1). Real words that sound alike are listed under ``keep``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import Levenshtein

from zhengji.bot.vocabulary import vocabulary


@dataclass(frozen=True)
class _Term:
    word: str
    sounds: tuple[str, ...]


@dataclass(frozen=True)
class _Repairer:
    terms: tuple[_Term, ...]
    keep: frozenset[str]
    characters: frozenset[str]

    def repair(self, text: str) -> str:
        """``text`` with every sound-alike or one-slip spelling of a term replaced by the term.

        Windows are looked up by their syllables (one dict per term length) instead of comparing every term
        with every window: the repair runs on every message, and the pairwise scan was half an answer's time."""
        if not any(char in self.characters for char in text):
            return text  # no term shares a character with the question: nothing can be a typo of one
        sounds = _sounds(text)
        chars = list(text)
        by_sound: dict[int, dict[tuple[str, ...], list[int]]] = {}
        for term in self.terms:
            size = len(term.word)
            if size not in by_sound:
                table: dict[tuple[str, ...], list[int]] = {}
                for at in range(len(chars) - size + 1):
                    table.setdefault(tuple(sounds[at : at + size]), []).append(at)
                by_sound[size] = table
            starts: Sequence[int] = by_sound[size].get(term.sounds, [])
            if size >= 4:
                starts = range(len(chars) - size + 1)  # a slip of one character need not sound alike
            done = -1
            for at in starts:
                if at < done:
                    continue
                window = "".join(chars[at : at + size])
                if self._typo(term, window, sounds[at : at + size]) and not self._kept(chars, at, size):
                    chars[at : at + size] = list(term.word)
                    done = at + size
        return "".join(chars)

    @staticmethod
    def _typo(term: _Term, window: str, sounds: list[str]) -> bool:
        if window == term.word:
            return False
        shared = sum(char in term.word for char in window)
        if not shared:
            return False
        if tuple(sounds) == term.sounds:
            return True
        size = len(term.word)
        return size >= 4 and shared >= size - 1 and Levenshtein.distance(window, term.word) == 1

    def _kept(self, chars: list[str], start: int, size: int) -> bool:
        """A listed real word covers the window (执业 stays 执业)."""
        around = "".join(chars[max(0, start - 2) : start + size + 2])
        return any(word in around for word in self.keep)


def _sounds(text: str) -> list[str]:
    """One toneless syllable a character (a non-Han character stands for itself)."""
    return [_sound(char) for char in text]


@cache
def _sound(char: str) -> str:
    """A character's toneless syllable; a character with none (a letter, a digit) stands for itself."""
    if not char.strip():
        return char
    syllables = lazy_pinyin(char, style=Style.NORMAL, errors="default")
    return syllables[0] if syllables else char


@cache
def _repairer() -> _Repairer:
    spec = vocabulary().spec.typos
    terms = tuple(_Term(term, tuple(_sounds(term))) for term in sorted(spec.terms, key=len, reverse=True))
    characters = frozenset(char for term in spec.terms for char in term)
    return _Repairer(terms, frozenset(spec.keep), characters)


def repair(text: str) -> str:
    """The question (normalized) with the notices' terms spelled right."""
    return _repairer().repair(text)
