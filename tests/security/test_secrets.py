"""The client secret appears nowhere but as ciphertext: not in a database dump, not in the
audit log, not in the run records."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.management import call_command

from benefitsync.companies.models import Company
from benefitsync.integrations.personio import services
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.sync.conftest import sync_now

SECRET = "s3cret-never-logged"


@pytest.mark.django_db(transaction=True)
def test_database_dump_holds_only_ciphertext_of_the_secret(
    sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    cred = sandbox.state.create_credential(None)
    # The sandbox issues its own secrets; connect with one and log everything while syncing.
    company = Company.objects.create(name="Dump GmbH", slug="dump")
    caplog.set_level(logging.DEBUG)
    services.do_connect_personio(
        company,
        client_id=cred.client_id,
        client_secret=cred.client_secret,
        base_url=sandbox.base_url,
        acting_user=None,
        first_sync=False,
    )
    sync_now(company)
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert cred.client_secret not in dump.getvalue()
    assert cred.client_secret not in caplog.text
    assert "client_secret_encrypted" in dump.getvalue()


@pytest.mark.django_db
def test_wrong_secret_is_not_logged_when_connecting_fails(
    sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    company = Company.objects.create(name="Wrong GmbH", slug="wrong")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(services.ConnectError) as refused:
        services.do_connect_personio(
            company,
            client_id=sandbox.client_id,
            client_secret=SECRET,
            base_url=sandbox.base_url,
            acting_user=None,
        )
    assert SECRET not in caplog.text
    assert SECRET not in refused.value.message
