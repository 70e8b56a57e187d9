"""Secrets at rest: only ciphertext in the database; key rotation re-encrypts every secret."""

from __future__ import annotations

import pytest
from django.conf import LazySettings
from django.core.management import call_command

from benefitsync.companies.models import Company
from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration
from benefitsync.lib import crypto


@pytest.mark.django_db
def test_rotation_re_encrypts_every_secret_under_the_new_key(settings: LazySettings) -> None:
    old = settings.BENEFITSYNC_ENCRYPTION_KEYS[0]
    companies = [Company.objects.create(name=f"C{i}", slug=f"c{i}") for i in range(3)]
    for i, company in enumerate(companies):
        PersonioIntegration.objects.create(
            company=company,
            status=IntegrationStatus.ACTIVE,
            client_id=f"id{i}",
            client_secret_encrypted=crypto.encrypt(f"secret-{i}"),
        )
    new = crypto.new_key()
    settings.BENEFITSYNC_ENCRYPTION_KEYS = [new, old]
    call_command("rotate-keys")
    settings.BENEFITSYNC_ENCRYPTION_KEYS = [new]  # the old key is gone
    for i, integration in enumerate(PersonioIntegration.objects.order_by("client_id")):
        assert f"secret-{i}" not in integration.client_secret_encrypted
        assert crypto.decrypt(integration.client_secret_encrypted) == f"secret-{i}"


def test_a_secret_under_an_unknown_key_is_reported_not_garbled(settings: LazySettings) -> None:
    token = crypto.encrypt("s3cret")
    settings.BENEFITSYNC_ENCRYPTION_KEYS = [crypto.new_key()]
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)
