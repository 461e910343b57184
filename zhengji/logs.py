"""Logging for ``zhengji serve``: readable lines for a console, or one JSON object a line for a collector.

Secrets that libraries put into their log lines (the Telegram token is part of every Bot API URL, which the
HTTP client logs) are replaced by :data:`MASK` in every record a handler emits: :func:`redact` registers a
secret and puts :class:`Redactor` on every handler there is, and :func:`configure` on the handler it makes.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else was passed in ``extra=`` and belongs in the structured line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the ``extra`` fields and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False, default=str)


MASK = "[redacted]"
_SECRETS: set[str] = set()
_LOCK = threading.Lock()


class Redactor(logging.Filter):
    """Replaces every registered secret in a record's message, arguments, traceback and stack, before any
    formatter sees it (the record is rewritten in place: every later handler gets it clean too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = tuple(_SECRETS)
        if not secrets:
            return True
        message = record.getMessage()
        clean = _scrub(message, secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _scrub(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = _scrub(record.stack_info, secrets)
        for key, value in vars(record).items():  # the ``extra`` fields the JSON lines carry
            if isinstance(value, str) and key not in {"msg", "exc_text", "stack_info"}:
                setattr(record, key, _scrub(value, secrets))
        return True


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


_REDACTOR = Redactor()


def _every_handler() -> list[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    return [handler for logger in loggers for handler in logger.handlers]


def redact(secret: str) -> None:
    """Never log ``secret``: registered here, it is replaced in every record of every handler there is now, and
    of those :func:`configure` makes later."""
    if len(secret) < 8:  # a short value would blank unrelated words; the secrets meant here are long
        return
    with _LOCK:
        _SECRETS.add(secret)
        for handler in _every_handler():
            if _REDACTOR not in handler.filters:
                handler.addFilter(_REDACTOR)


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_REDACTOR)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # aiosmtpd logs every SMTP command of every sender at INFO (eight lines a mail, addresses included); our own
    # line says what was stored. Its dialogue shows only when asked for with DEBUG.
    logging.getLogger("mail.log").setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
