"""The support back office: integration health of every company and the company filter.

Support staff only (`user.is_support`); everyone else gets 404, so the back office does not
reveal that it exists. No client secret is shown here either (SPEC §1, §2.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from benefitsync.accounts import access
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio import services, sync
from benefitsync.integrations.personio import views as personio_views
from benefitsync.integrations.personio.errors import PersonioError
from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    RunStatus,
    SyncRun,
)
from benefitsync.integrations.personio.sync.read import Reading, read
from benefitsync.support.forms import CompanyFilterForm, HealthFilterForm

BROKEN_RUNS = (RunStatus.FAILED, RunStatus.PARTLY_FAILED, RunStatus.HELD, RunStatus.INTERRUPTED)
SUCCESS_RUNS = (RunStatus.SUCCEEDED, RunStatus.APPLIED, RunStatus.PARTLY_FAILED)
DONE_RUNS = (*BROKEN_RUNS, RunStatus.SUCCEEDED, RunStatus.APPLIED, RunStatus.DISCARDED)


@dataclass(frozen=True)
class Health:
    company: Company
    integration: PersonioIntegration | None
    last_run: SyncRun | None
    last_success: SyncRun | None
    held: bool

    @property
    def status(self) -> str:
        return self.integration.status if self.integration else IntegrationStatus.DISCONNECTED

    @property
    def broken(self) -> bool:
        return (
            self.held
            or self.status == IntegrationStatus.NEEDS_RECONNECT
            or bool(self.integration and self.integration.consecutive_failures)
            or (self.last_run is not None and self.last_run.status in BROKEN_RUNS)
        )


def company_health() -> list[Health]:
    """One row per company. Three queries whatever the number of companies: the latest run
    and latest success per company are picked in Python from runs ordered newest first."""
    integrations = {i.company_id: i for i in PersonioIntegration.objects.all()}
    last: dict[int, SyncRun] = {}
    success: dict[int, SyncRun] = {}
    held: set[int] = set()
    runs = SyncRun.objects.filter(status__in=DONE_RUNS).only(
        "id", "company_id", "status", "queued_at", "finished_at", "message"
    )
    for run in runs.order_by("company_id", "-queued_at", "-id").iterator():
        last.setdefault(run.company_id, run)
        if run.status in SUCCESS_RUNS:
            success.setdefault(run.company_id, run)
        if run.status == RunStatus.HELD:
            held.add(run.company_id)
    return [
        Health(c, integrations.get(c.pk), last.get(c.pk), success.get(c.pk), c.pk in held)
        for c in Company.objects.order_by("name")
    ]


@access.support("GET")
def company_integration(request: HttpRequest, pk: int) -> HttpResponse:
    """Any company's Personio integration, read-only for support: status, schedule, filter,
    attributes received, the latest runs with their counts (never the client secret). Changing
    it stays with the company's HR admin; held runs are resolved on the HR admin's page."""
    company = get_object_or_404(Company, pk=pk)
    integration = services.integration_for(company)
    runs = list(SyncRun.objects.filter(company=company)[:10])
    attributes = integration.last_attributes
    missing = (
        [label for key, label in services.REQUIRED_ATTRIBUTES.items() if key not in attributes]
        if attributes is not None
        else []
    )
    return render(
        request,
        "support/integration.html",
        {
            "target": company,
            "integration": integration,
            "runs": [(run, personio_views.count_texts_of(run)) for run in runs],
            "held": any(run.status == RunStatus.HELD for run in runs),
            "attributes": sorted(attributes or []),
            "missing_attributes": missing,
        },
    )


@access.support("GET")
def company_list(request: HttpRequest) -> HttpResponse:
    form = HealthFilterForm(request.GET)
    wanted = form.cleaned_data["health"] if form.is_valid() else ""
    rows = company_health()
    if wanted == "broken":
        rows = [r for r in rows if r.broken]
    elif wanted == "connected":
        rows = [r for r in rows if r.status != IntegrationStatus.DISCONNECTED]
    elif wanted == "disconnected":
        rows = [r for r in rows if r.status == IntegrationStatus.DISCONNECTED]
    return render(
        request,
        "support/companies.html",
        {"rows": rows, "form": form, "warnings": services.overlap_warnings()},
    )


@access.support("GET", "POST")
def company_filter(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    integration = services.integration_for(company)
    preview: FilterPreview | None = None
    same_account = list(
        PersonioIntegration.objects.filter(~Q(company=company), base_url=integration.base_url)
        .exclude(status=IntegrationStatus.DISCONNECTED)
        .select_related("company")
    )
    if not integration.base_url:
        same_account = []
    if request.method == "POST":
        form = CompanyFilterForm(request.POST)
        if form.is_valid() and request.POST.get("action") == "preview":
            proposed = rc.CompanyFilter.of(
                form.cleaned_data["email_domains"],
                form.cleaned_data["company_names"],
                form.cleaned_data["opt_in"],
            )
            preview = filter_preview(company, integration, proposed, same_account)
        elif form.is_valid():
            try:
                services.do_set_company_filter(
                    company,
                    email_domains=form.cleaned_data["email_domains"],
                    company_names=form.cleaned_data["company_names"],
                    opt_in=form.cleaned_data["opt_in"],
                    acting_user=acting_user(request),
                )
            except ValueError as exc:
                form.add_error("email_domains", str(exc))
            else:
                messages.success(request, _("Company filter saved for %(c)s.") % {"c": company})
                return redirect("support:filter", pk=company.pk)
    else:
        form = CompanyFilterForm(
            initial={
                "email_domains": "\n".join(integration.filter_email_domains),
                "company_names": "\n".join(integration.filter_company_names),
                "opt_in": integration.filter_opt_in,
            }
        )
    names = {company.name}
    warnings = [w for w in services.overlap_warnings() if names & set(w.companies)]
    return render(
        request,
        "support/filter.html",
        {
            "target": company,
            "integration": integration,
            "form": form,
            "warnings": warnings,
            "same_account": same_account,
            "preview": preview,
        },
    )


PREVIEW_SEVERAL_LIMIT = 50


@dataclass(frozen=True)
class FilterPreview:
    """What a proposed filter would do: employees per company, and who would land in several."""

    error: str = ""
    per_company: tuple[tuple[str, int], ...] = ()
    several: tuple[tuple[str, tuple[str, ...]], ...] = ()
    several_total: int = 0
    remote_total: int = 0
    # The company itself would get nobody, though Personio delivers people: a typo in a domain.
    matches_nobody: bool = False


def filter_preview(
    company: Company,
    integration: PersonioIntegration,
    proposed: rc.CompanyFilter,
    same_account: list[PersonioIntegration],
) -> FilterPreview:
    """Read Personio once with this company's access data and apply the proposed filter, and
    the stored filters of the other companies on the same Personio account, to every employee."""
    if not integration.is_connected:
        return FilterPreview(error=_("Connect this company to Personio first to see a preview."))
    filters = {company.name: proposed}
    for other in same_account:
        filters[other.company.name] = sync.policy_of(other).company_filter
    reading = Reading()
    remote = (item for item in read(integration, reading) if isinstance(item, rc.RemoteEmployee))
    try:
        per_company, several = services.filter_preview(remote, filters)
    except PersonioError as exc:
        return FilterPreview(error=_("Personio could not be read: %(error)s") % {"error": exc})
    return FilterPreview(
        matches_nobody=bool(reading.readable) and not per_company.get(company.name),
        per_company=tuple(per_company.items()),
        several=tuple((label, tuple(names)) for label, names in several[:PREVIEW_SEVERAL_LIMIT]),
        several_total=len(several),
        remote_total=reading.readable,
    )
