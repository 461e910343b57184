"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

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


# JSON on SQLite, JSONB on PostgreSQL (indexable, compared by value).
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def enum_column(enum: type[StrEnum], **kwargs: Any) -> sa.Column[Any]:
    """A VARCHAR column holding a StrEnum's values: no database enum type to migrate when a state is added."""
    return sa.Column(
        sa.Enum(enum, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        **kwargs,
    )
