"""Operability endpoints show an attacker nothing useful: /metrics needs a token in production,
/health/ names no host or process to anonymous callers."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from django.conf import LazySettings
from django.test import Client
from huey.contrib.djhuey import HUEY

from benefitsync.accounts.models import User
from benefitsync.ops import heartbeat
from tests.conftest import ClientFor


@pytest.fixture(autouse=True)
def _one_heartbeat() -> Iterator[None]:
    heartbeat.beat(periodic=True)
    yield
    for beat in heartbeat.beats(HUEY):
        HUEY.storage.delete_data(heartbeat.PREFIX + beat.worker)


def test_health_names_no_host_or_process_to_anonymous_callers(db: None) -> None:
    response = Client().get("/health/")
    assert response.status_code == 200
    text = response.content.decode()
    assert socket.gethostname() not in text
    assert f":{os.getpid()}" not in text
    assert response.json()["workers_alive"] == 1


def test_support_staff_see_which_workers_run(support: User, client_for: ClientFor) -> None:
    body = client_for(support).get("/health/").json()
    assert body["workers"][0]["worker"] == f"{socket.gethostname()}:{os.getpid()}"


def test_metrics_refuse_everyone_in_production_without_a_token(
    db: None, settings: LazySettings
) -> None:
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 401
