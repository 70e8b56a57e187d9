"""Structured logs: every record carries the company and sync run it belongs to.

- `log_context(company_id=…, run_id=…)` binds IDs to the current thread/task (contextvars), so a
  log line deep inside the client or the ORM layer still says which company and run it is about.
  The worker binds them for every `run_sync` job (`benefitsync.ops.tasks`); code may also pass
  `extra={"company_id": …, "run_id": …}` to a single call.
- `ContextFilter` copies the bound IDs onto each record (`record.company_id`, `record.run_id`).
- `JsonFormatter` writes one JSON object per line (`LOG_FORMAT=json`, for log shippers);
  `PlainFormatter` appends ` company=… run=…` to the classic line (`LOG_FORMAT=plain`, default).

This module must not import Django models: settings import it through `LOGGING`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_company_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("company_id", default=None)
_run_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("run_id", default=None)

# LogRecord attributes that are not "extra" fields (JSON output copies the extras).
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "", None, None)).keys()
    | {"message", "asctime", "company_id", "run_id"}
)


@contextmanager
def log_context(*, company_id: int | None = None, run_id: int | None = None) -> Iterator[None]:
    """Bind the company and run IDs to every log record emitted inside the block."""
    tokens = []
    if company_id is not None:
        tokens.append((_company_id, _company_id.set(company_id)))
    if run_id is not None:
        tokens.append((_run_id, _run_id.set(run_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(*, company_id: int | None, run_id: int | None) -> tuple[contextvars.Token[Any], ...]:
    """Bind without a `with` block (for hooks that start and end in different callbacks)."""
    return (_company_id.set(company_id), _run_id.set(run_id))


def unbind(tokens: tuple[contextvars.Token[Any], ...]) -> None:
    company_token, run_token = tokens
    _run_id.reset(run_token)
    _company_id.reset(company_token)


def current() -> tuple[int | None, int | None]:
    """The (company_id, run_id) bound right now."""
    return _company_id.get(), _run_id.get()


class ContextFilter(logging.Filter):
    """Adds `company_id` and `run_id` to every record (explicit `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "company_id", None) is None:
            record.company_id = _company_id.get()
        if getattr(record, "run_id", None) is None:
            record.run_id = _run_id.get()
        return True


class PlainFormatter(logging.Formatter):
    """`2025-01-01 12:00:00,000 INFO name message company=7 run=42` (IDs only when bound)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        company_id = getattr(record, "company_id", None)
        run_id = getattr(record, "run_id", None)
        suffix = ""
        if company_id is not None:
            suffix += f" company={company_id}"
        if run_id is not None:
            suffix += f" run={run_id}"
        if not suffix:
            return line
        # Keep a traceback below the first line where it belongs.
        first, sep, rest = line.partition("\n")
        return first + suffix + sep + rest


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, company_id, run_id, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "company_id": getattr(record, "company_id", None),
            "run_id": getattr(record, "run_id", None),
            "process": record.process,
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The `LOGGING` dict for settings: console handler, the chosen formatter, the IDs filter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "benefitsync.lib.logging.ContextFilter"}},
        "formatters": {
            "plain": {"()": "benefitsync.lib.logging.PlainFormatter"},
            "json": {"()": "benefitsync.lib.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "httpx": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }
