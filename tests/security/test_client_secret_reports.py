"""The Personio client secret never reaches an error report: the view that receives it marks
the POST parameter sensitive, the services that hold it mark their local variable sensitive."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from benefitsync.accounts.models import User
from benefitsync.companies.models import Company
from benefitsync.integrations.personio import services

SECRET = "s3cret-never-in-a-report"


@pytest.fixture(autouse=True)
def _nothing_listens(settings: Any) -> None:
    # Connects fail at once: nothing listens on port 9 of loopback, and no retry waits.
    settings.PERSONIO_BASE_URL = "http://127.0.0.1:9"
    settings.PERSONIO_CLIENT_OPTIONS = {"retry_wait_scale": 0.001, "deadline": 2, "timeout": 1}


@pytest.mark.django_db
def test_the_connect_view_hides_the_client_secret_from_error_reports(
    company_a: Company, hr_a: User, client_for: object
) -> None:
    client: Client = client_for(hr_a)  # type: ignore[operator]
    response = client.post(
        reverse("personio:connect", kwargs={"slug": company_a.slug}),
        {"client_id": "id", "client_secret": SECRET},
    )
    posted = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert posted["client_secret"] != SECRET
    assert SECRET not in str(posted)


@pytest.mark.django_db
def test_a_failed_connect_s_traceback_shows_no_client_secret(company_a: Company) -> None:
    with pytest.raises(services.ConnectError):
        try:
            services.do_connect_personio(
                company_a,
                client_id="id",
                client_secret=SECRET,
                acting_user=None,
                first_sync=False,
            )
        except services.ConnectError:
            # The HTML report is the one that lists every frame's local variables.
            report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
            assert "client_id" in report, "the report shows the frames' variables"
            assert SECRET not in report
            raise
