"""Column types that behave the same on SQLite and PostgreSQL.

They are also the storage boundary for untrusted text. A mail's headers, names and parsed fields are whatever
the sender wrote; SQLite stores anything, but PostgreSQL refuses a value longer than its ``VARCHAR(n)``
(``StringDataRightTruncation``), a NUL character in text or JSON, and a lone surrogate, and a refused write stops
the step that makes it, over and over. So every string written goes through :func:`storable`: the database keeps
what fits, cleaned, and the raw mail in the blob store keeps the whole value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An instant stored in UTC and always read back timezone-aware.

    SQLite has no time zones; without this a received time would come back naive and be judged in the wrong
    zone by the window calendar.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum: type[StrEnum], **kwargs: Any) -> sa.Column[Any]:
    """A VARCHAR column holding a StrEnum's values: no database enum type to migrate when a state is added."""
    return sa.Column(
        sa.Enum(enum, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        **kwargs,
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: str, length: int | None = None) -> str:
    """``value`` as every database takes it: no NUL, no lone surrogate, at most ``length`` characters.

    PostgreSQL counts ``VARCHAR(n)`` in characters, as Python slices; cutting never leaves half a character.
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from bytes decoded with surrogateescape
        value = _SURROGATE.sub("\ufffd", value)
    return value[:length] if length is not None and len(value) > length else value


class BoundedString(sa.TypeDecorator[str]):
    """``VARCHAR(length)`` that trims a longer value as it is written, in every INSERT, UPDATE and WHERE.

    Trimming in the bind step (not in the model) covers Core ``update(...).values(...)`` as well as the ORM, and
    a value compared in a WHERE clause is trimmed the same way as the stored one, so that lookups still match.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(str(value), self.length)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return value


class CleanText(sa.TypeDecorator[str]):
    """``TEXT`` of any length, cleaned of what PostgreSQL refuses (NUL, lone surrogates)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(str(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return value


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(key)): _clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(item) for item in value]
    return value


class CleanJSON(sa.TypeDecorator[Any]):
    """JSON on SQLite, JSONB on PostgreSQL (indexable, compared by value), its strings cleaned as :func:`storable`
    does: PostgreSQL's JSONB refuses ``\\u0000``, which a parsed document's text may well hold."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _clean_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return value


JSONType = CleanJSON()
