"""A pytest plugin: every log record of the whole test run is scanned for Personio client
secrets; finding one fails the run. Loaded through `-p tests.secret_scan` (pyproject addopts)."""

from __future__ import annotations

import logging

import pytest

# Every secret the suite hands to the portal. Tests that invent a secret use one of these.
KNOWN_SECRETS = ("sandbox-client-secret", "s3cret-never-logged")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken log call must not hide a leak check
            text = str(record.msg)
        if record.exc_text:
            text += record.exc_text
        for secret in KNOWN_SECRETS:
            if secret in text:
                self.leaks.append(f"{record.name}: {text[:200]}")


_collector = _Collector()


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(_collector)


# Leaks the pytest-xdist workers reported (their exit status does not fail the controller's run).
_worker_leaks: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist's controller: collect what a finished worker found."""
    output = getattr(node, "workeroutput", None) or {}
    _worker_leaks.extend(output.get("secret_leaks", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        # An xdist worker: hand the leaks to the controller, which fails the run.
        workeroutput["secret_leaks"] = _collector.leaks[:10]
        return
    leaks = _collector.leaks + _worker_leaks
    if leaks:
        print("\nA Personio client secret appeared in the logs:")
        for leak in leaks[:10]:
            print("  " + leak)
        session.exitstatus = 1
