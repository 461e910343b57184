"""Bounded memories of the answering core's pure steps, so that a burst of chats does not read the same
question again and again (issue 18: 200 chats at once).

What is remembered is only what depends on nothing but its key and the bot's data: reading a message
(:func:`zhengji.bot.understand.understand`) and the acts it asks depend on the text alone (:mod:`zhengji.bot.core`);
the clauses a topic is answered from on the topic, the tracks, the business day and the period asked about, which
are all in its key (:func:`zhengji.bot.faq.sources_for`). The data is part of every key in effect: each memory
holds the data objects it was filled under (the notice registry, the form data, the vocabulary, the catalog, the
FAQ, the segmenter, each loaded once and cached by its loader) and forgets everything when any of them is no
longer the one loaded (a test or a reload that clears a loader's cache), so that nothing computed from older data
is ever served. There is no time window: an entry is right for as long as its key and the data are the same, and
the least recently used entries make room for new ones.

Status, binding and notices are never remembered here: they depend on the database (:mod:`zhengji.bot.links`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cache
from operator import is_
from typing import Generic, TypeVar

V = TypeVar("V")

SIZE = 4096
"""Entries a memory keeps: the question table is a few hundred texts, a busy day a few thousand."""


def data_objects() -> tuple[object, ...]:
    """The loaded data every answer is computed from; a memory is valid only while these are the same objects."""
    loaders = _loaders()
    return (loaders[0](), loaders[1](), loaders[2](), loaders[3](), loaders[4](), loaders[5]())


@cache
def _loaders() -> tuple[Callable[[], object], ...]:
    """The data's loaders, imported on first use: the loaders' own modules keep memories too (zhengji.bot.faq).
    Asked on every look-up of every memory, so looked up once."""
    from zhengji.bot.catalog import catalog_index
    from zhengji.bot.faq import load_faq
    from zhengji.bot.segment import segmenter
    from zhengji.bot.vocabulary import vocabulary
    from zhengji.notices.forms import form_specs
    from zhengji.notices.registry import load_registry

    return (load_registry, form_specs, vocabulary, catalog_index, load_faq, segmenter)


class Memo(Generic[V]):
    """A thread-safe least-recently-used memory of ``compute(key)``, emptied when the loaded data changes."""

    def __init__(self, size: int = SIZE, data: Callable[[], tuple[object, ...]] = data_objects) -> None:
        self._size = size
        self._data = data
        self._held: tuple[object, ...] = ()
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value remembered under ``key``, else ``compute()`` (outside the lock), remembered."""
        data = self._data()
        with self._lock:
            if not _same(data, self._held):
                self._items.clear()
                self._held = data
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        value = compute()
        with self._lock:
            if _same(data, self._held):  # the data did not change while it was computed
                self._items[key] = value
                if len(self._items) > self._size:
                    self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def _same(data: tuple[object, ...], held: tuple[object, ...]) -> bool:
    """The same loaded objects (identity, not equality: a reloaded file is a new object even when equal)."""
    return len(data) == len(held) and all(map(is_, data, held))
