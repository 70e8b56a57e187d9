"""The Personio integration page of the employer portal and the sync history (SPEC §2-4).

Every view is `accounts.access.hr_admin` (404 for outsiders, see `company_of`);
every state change is a POST that calls one service. The client secret is never rendered.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters

from benefitsync.accounts import access
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee, ErasedPerson
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio import services, sync, texts, webhooks
from benefitsync.integrations.personio.errors import PersonioError
from benefitsync.integrations.personio.forms import (
    AllowAgainForm,
    AutoInviteForm,
    ConnectForm,
    DeltaIntervalForm,
)
from benefitsync.integrations.personio.models import (
    FINISHED,
    IN_PROGRESS,
    IntegrationStatus,
    RunStatus,
    SyncEvent,
    SyncRun,
    Trigger,
)

RUNS_PER_PAGE = 50
# Count keys shown in tables, in this order (the rest stays in the run detail).
COUNT_KEYS = ("created", "updated", "leaving", "unchanged", "skipped", "errors")
# Shown beside COUNT_KEYS only when a run did any of them, so a run that only flagged someone
# or undid a leaving does not look like it did nothing.
OCCASIONAL_KEYS = ("undone_leaving", "flagged_missing", "unflagged", "invited")


def shown_counts(counts: dict[str, Any]) -> list[str]:
    return [*COUNT_KEYS, *(k for k in OCCASIONAL_KEYS if counts.get(k))]


COUNT_LABELS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "leaving": gettext_lazy("leaving"),
    "undone_leaving": gettext_lazy("leaving undone"),
    "flagged_missing": gettext_lazy("no longer in Personio"),
    "unflagged": gettext_lazy("back in Personio"),
    "unchanged": gettext_lazy("unchanged"),
    "skipped": gettext_lazy("skipped"),
    "errors": gettext_lazy("errors"),
    "invited": gettext_lazy("invited"),
    "filtered_out": gettext_lazy("filtered out"),
    "remote_total": gettext_lazy("in Personio"),
    "employees_written": gettext_lazy("employees written"),
}


def _page(request: HttpRequest, slug: str) -> HttpResponse:
    return redirect("personio:integration", slug=slug)


def _run_of(company: Company, pk: int) -> SyncRun:
    return get_object_or_404(SyncRun, company=company, pk=pk)


@dataclass(frozen=True)
class PreviewRow:
    """One line of a plan shown to the HR admin: who, what, and the field changes."""

    kind: str
    who: str
    changes: dict[str, Any]
    message: str
    error: bool


def _plan_rows(
    company: Company, plan: rc.Plan, kinds: tuple[type, ...] | None = None
) -> list[PreviewRow]:
    actions = [a for a in plan.actions if kinds is None or isinstance(a, kinds)]
    ids = {getattr(a, "employee_id", None) for a in actions} - {None}
    names = {
        e.pk: f"{e.full_name} ({e.email})" if e.email else e.full_name
        for e in Employee.objects.filter(company=company, pk__in=ids)
    }
    creates = {a.personio_id: a for a in plan.of(rc.Create)}
    rows = []
    for action in actions:
        kind, changes, note, error = sync.describe(action)
        message = texts.render(note)
        employee_id = getattr(action, "employee_id", None)
        if employee_id is not None:
            who = names.get(employee_id, f"#{employee_id}")
        elif (create := creates.get(getattr(action, "personio_id", None) or -1)) is not None:
            fields = create.fields
            who = f"{fields.get('first_name', '')} {fields.get('last_name', '')}".strip()
        elif isinstance(action, rc.Skip) and action.name:
            who = action.name
        else:
            who = _("Personio ID %(id)s") % {"id": getattr(action, "personio_id", "—")}
        rows.append(PreviewRow(kind, who, changes, message, error))
    return rows


def run_status_payload(run: SyncRun) -> dict[str, Any]:
    """What the integration page's poller shows: status, and the counts once done."""
    return {
        "id": run.pk,
        "status": run.status,
        "status_display": run.get_status_display(),
        "done": run.status in FINISHED,
        "counts": (
            {k: run.counts.get(k, 0) for k in shown_counts(run.counts)}
            if run.counts and run.status in FINISHED
            else {}
        ),
        # While running: how many employees were read from Personio so far.
        "fetched": run.counts.get("fetched", 0) if run.status not in FINISHED else None,
        "progress_label": str(_("employees read from Personio")),
        "count_labels": {k: str(COUNT_LABELS[k]) for k in (*COUNT_KEYS, *OCCASIONAL_KEYS)},
        # The counts as read ("1 error", not "1 errors"), in the order of `counts`.
        "count_texts": count_texts_of(run) if run.counts and run.status in FINISHED else [],
        "message": run.text,
        "applied": run.applied,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "url": reverse("personio:run", kwargs={"slug": run.company.slug, "pk": run.pk}),
    }


@access.hr_admin("GET")
def integration(request: HttpRequest, slug: str) -> HttpResponse:
    """Company settings → Personio integration."""
    company = access.company_of(request)
    current = services.integration_for(company)
    return _render_integration(
        request, company, ConnectForm(initial={"auto_invite": current.auto_invite})
    )


def _render_integration(
    request: HttpRequest, company: Company, connect_form: ConnectForm, status: int = 200
) -> HttpResponse:
    integration = services.integration_for(company)
    runs = list(SyncRun.objects.filter(company=company)[:5])
    last_finished = next((r for r in runs if r.status in FINISHED), None)
    held = SyncRun.objects.filter(company=company, status=RunStatus.HELD).first()
    held_rows: list[PreviewRow] = []
    if held is not None and held.plan:
        held_rows = _plan_rows(
            company,
            sync.plan_from_json(held.plan),
            (rc.MarkLeaving, rc.MoveLeaving, rc.FlagMissing),
        )
    attributes = integration.last_attributes or (
        last_finished.attributes if last_finished else None
    )
    missing = (
        [label for key, label in services.REQUIRED_ATTRIBUTES.items() if key not in attributes]
        if attributes is not None
        else []
    )
    context = {
        "integration": integration,
        "connected": integration.is_connected,
        "active": integration.status == IntegrationStatus.ACTIVE,
        "connect_form": connect_form,
        "auto_invite_form": AutoInviteForm(initial={"enabled": integration.auto_invite}),
        "current": sync.in_progress(company),
        "last_run": last_finished,
        "last_counts": count_texts_of(last_finished),
        "held": held,
        "held_rows": held_rows,
        "attributes": sorted(attributes or []),
        "missing_attributes": missing,
        "runs": runs,
        "erased_count": ErasedPerson.objects.filter(company=company).count(),
        "allow_again_form": AllowAgainForm(),
        "delta_form": DeltaIntervalForm(initial={"minutes": integration.delta_interval}),
        "missed_changes": webhooks.missed_changes(integration),
    }
    return render(request, "personio/integration.html", context, status=status)


def _counts(run: SyncRun | None) -> list[tuple[str, int]]:
    if run is None or not run.counts:
        return []
    return [(str(COUNT_LABELS[k]), int(run.counts.get(k, 0))) for k in shown_counts(run.counts)]


def count_text(key: str, n: int) -> str:
    """ "3 created", "1 error" / "2 errors": a count with its label, in the right number."""
    if key == "errors":
        return ngettext("%(n)s error", "%(n)s errors", n) % {"n": n}
    return f"{n} {COUNT_LABELS.get(key, key)}"


def count_texts_of(run: SyncRun | None) -> list[str]:
    """A run's counts as read: ["3 created", "1 error", …] (also the support pages')."""
    if run is None or not run.counts:
        return []
    return [count_text(k, int(run.counts.get(k, 0))) for k in shown_counts(run.counts)]


@access.hr_admin("POST")
@sensitive_post_parameters("client_secret")
def connect(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    form = ConnectForm(request.POST)
    if not form.is_valid():
        return _render_integration(request, company, form, status=400)
    try:
        services.do_connect_personio(
            company,
            client_id=form.cleaned_data["client_id"],
            client_secret=form.cleaned_data["client_secret"],
            auto_invite=form.cleaned_data["auto_invite"],
            acting_user=acting_user(request),
        )
    except services.ConnectError as exc:
        form.add_error(None, exc.message)
        # A fresh bound form without the secret: the ID stays, the secret is typed again.
        return _render_integration(request, company, form, status=400)
    messages.success(request, _("Integration active. The first synchronization has been started."))
    return _page(request, slug)


@access.hr_admin("POST")
def auto_invite(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    form = AutoInviteForm(request.POST)
    enabled = bool(form.is_valid() and form.cleaned_data["enabled"])
    services.do_set_auto_invite(company, enabled, acting_user=acting_user(request))
    messages.success(
        request,
        _("New employees will be invited automatically.")
        if enabled
        else _("New employees will not be invited automatically."),
    )
    return _page(request, slug)


@access.hr_admin("POST")
def sync_now(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    if not services.is_connected(company):
        messages.error(request, _("Connect Personio first."))
        return _page(request, slug)
    held = SyncRun.objects.held(company.pk)
    try:
        sync.request_sync(company, Trigger.MANUAL, acting_user=acting_user(request))
    except sync.AlreadyRunning:
        messages.info(request, _("A synchronization is already running. Its result appears below."))
    else:
        if held is not None:
            # The newest plan wins (sync/guard.py): say so, rather than leave two plans waiting.
            messages.success(
                request,
                _(
                    "Synchronization started. It replaces the held synchronization that was "
                    "waiting for your decision."
                ),
            )
        else:
            messages.success(request, _("Synchronization started."))
    return _page(request, slug)


@access.hr_admin("GET")
def run_status(request: HttpRequest, slug: str, pk: int) -> JsonResponse:
    company = access.company_of(request)
    return JsonResponse(run_status_payload(_run_of(company, pk)))


def _switch_schedule(
    request: HttpRequest, slug: str, change: Callable[..., object], done: str
) -> HttpResponse:
    try:
        change(access.company_of(request), acting_user=acting_user(request))
    except services.ConnectError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _page(request, slug)


@access.hr_admin("POST")
def repair_webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    """Register the webhook again (after "webhooks stopped arriving", or once the access data
    may register webhooks)."""
    try:
        integration = services.do_repair_webhooks(
            access.company_of(request), acting_user=acting_user(request)
        )
    except services.ConnectError as exc:
        messages.error(request, exc.message)
        return _page(request, slug)
    if integration.webhooks_active:
        messages.success(request, _("Webhooks active: Personio announces changes within seconds."))
    else:
        messages.error(
            request,
            _("Webhooks could not be registered: %(reason)s Changes are fetched on a schedule.")
            % {"reason": integration.webhook_text},
        )
    return _page(request, slug)


@access.hr_admin("POST")
def delta_interval(request: HttpRequest, slug: str) -> HttpResponse:
    form = DeltaIntervalForm(request.POST)
    if form.is_valid():
        services.do_set_delta_interval(
            access.company_of(request),
            form.cleaned_data["minutes"],
            acting_user=acting_user(request),
        )
        messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Choose one of the intervals offered."))
    return _page(request, slug)


@access.hr_admin("POST")
def pause(request: HttpRequest, slug: str) -> HttpResponse:
    return _switch_schedule(
        request, slug, services.do_pause_personio, _("Daily synchronization paused.")
    )


@access.hr_admin("POST")
def resume(request: HttpRequest, slug: str) -> HttpResponse:
    return _switch_schedule(
        request, slug, services.do_resume_personio, _("Daily synchronization resumed.")
    )


@access.hr_admin("POST")
def confirm_run(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    run = _run_of(company, pk)
    try:
        sync.confirm_held(run, acting_user=acting_user(request))
    except sync.AlreadyRunning:
        messages.error(request, _("A synchronization is running; confirm again when it is done."))
    except sync.PlanOutdated:
        messages.error(
            request,
            _(
                "This plan was made under another company filter, other access data or another "
                "invitation choice, so it cannot be applied. Synchronize again for a current plan."
            ),
        )
    except ValueError:
        messages.error(request, _("This run is no longer held."))
    else:
        messages.success(request, _("The held synchronization was applied."))
    return _page(request, slug)


@access.hr_admin("POST")
def discard_run(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    try:
        sync.discard_held(_run_of(company, pk), acting_user=acting_user(request))
    except ValueError:
        messages.error(request, _("This run is no longer held."))
    else:
        messages.success(
            request,
            _("The held synchronization was discarded; none of its changes were applied."),
        )
    return _page(request, slug)


@access.hr_admin("POST")
def allow_again(request: HttpRequest, slug: str) -> HttpResponse:
    """Lift the erasure block of one person: the next sync creates them again."""
    company = access.company_of(request)
    form = AllowAgainForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the Personio ID of the person."))
    elif employee_services.do_allow_personio_id_again(
        company, form.cleaned_data["personio_id"], acting_user=acting_user(request)
    ):
        messages.success(
            request,
            _("The next synchronization will create this person again if Personio delivers them."),
        )
    else:
        messages.info(request, _("Nobody with this Personio ID was deleted in the portal."))
    return _page(request, slug)


@access.hr_admin("GET")
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    """Dry run: what the next sync would do, fetched now, applied never."""
    company = access.company_of(request)
    if not services.is_connected(company):
        messages.error(request, _("Connect Personio first."))
        return _page(request, slug)
    error = ""
    rows: list[PreviewRow] = []
    reasons: list[str] = []
    counts: list[tuple[str, int]] = []
    try:
        plan, notes = sync.dry_run(company)
        reasons = [texts.render(n) for n in notes]
    except PersonioError as exc:
        error = _("Personio could not be read: %(error)s") % {"error": exc}
    else:
        rows = _plan_rows(company, plan, None)
        plan_counts = plan.counts()
        counts = [(str(COUNT_LABELS[k]), plan_counts.get(k, 0)) for k in COUNT_KEYS]
    return render(
        request,
        "personio/preview.html",
        {"rows": rows, "reasons": reasons, "counts": counts, "error": error},
    )


@access.hr_admin("GET", "POST")
def disconnect(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    if request.method == "POST":
        services.do_disconnect_personio(company, acting_user=acting_user(request))
        messages.success(
            request,
            _("Personio disconnected. Employees, their benefits and the history are unchanged."),
        )
        return _page(request, slug)
    return render(
        request,
        "personio/disconnect.html",
        {"employee_count": Employee.objects.filter(company=company).count()},
    )


# --- sync history ---------------------------------------------------------------------------------


@access.hr_admin("GET")
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    runs = list(SyncRun.objects.filter(company=company)[:RUNS_PER_PAGE])
    # One column per count that any run of the page has: every row has a cell for every
    # header, whatever a run did (a run that invited someone adds no cell of its own).
    keys = [
        *COUNT_KEYS,
        *(k for k in OCCASIONAL_KEYS if any((run.counts or {}).get(k) for run in runs)),
    ]
    return render(
        request,
        "personio/runs.html",
        {
            "runs": [
                (run, [(COUNT_LABELS[k], (run.counts or {}).get(k, 0)) for k in keys])
                if run.counts
                else (run, [])
                for run in runs
            ],
            "count_labels": [COUNT_LABELS[k] for k in keys],
        },
    )


EVENTS_PER_PAGE = 100


@access.hr_admin("GET")
def run_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    run = _run_of(company, pk)
    all_events = SyncEvent.objects.filter(run=run)
    # A first sync of a large company has thousands of changes: paged, and filtered by action.
    actions = list(
        all_events.order_by().values_list("action").annotate(n=Count("id")).order_by("action")
    )
    action = request.GET.get("action", "")
    if action not in {a for a, _n in actions}:
        action = ""
    events = all_events.select_related("employee").order_by("-error", "id")
    if action:
        events = events.filter(action=action)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    shown = set(shown_counts(run.counts or {}))
    extra = [
        (str(COUNT_LABELS.get(k, k)), v)
        for k, v in (run.counts or {}).items()
        if k not in shown and k in COUNT_LABELS  # each counter once
    ]
    return render(
        request,
        "personio/run_detail.html",
        {
            "run": run,
            "counts": _counts(run),
            "extra_counts": extra,
            "events": page.object_list,
            "page": page,
            "actions": actions,
            "action": action,
            "total_events": sum(n for _a, n in actions),
            "errors": list(all_events.filter(error=True).select_related("employee")[:200]),
            "skipped": (run.counts or {}).get("skipped", 0),
            "in_progress": run.status in IN_PROGRESS,
            # A held run applied nothing: show its kept plan instead of events.
            "rows": _plan_rows(company, sync.plan_from_json(run.plan), None)
            if run.status == RunStatus.HELD and run.plan
            else [],
        },
    )


@access.hr_admin("GET")
def run_csv(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The run's per-employee changes and errors as CSV (one row per field change)."""
    company = access.company_of(request)
    run = _run_of(company, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sync-{company.slug}-{run.pk}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read the umlauts as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        ["personio_id", "employee", "email", "action", "field", "old", "new", "message", "error"]
    )
    for event in SyncEvent.objects.filter(run=run).select_related("employee"):
        name = event.employee.full_name if event.employee else ""
        email = event.employee.email if event.employee else ""
        base = [event.personio_id or "", _csv_safe(name), _csv_safe(email), event.action]
        tail = [_csv_safe(event.message), "yes" if event.error else ""]
        if not event.changes:
            writer.writerow([*base, "", "", "", *tail])
        for field, (old, new) in event.changes.items():
            writer.writerow([*base, field, _csv_safe(old), _csv_safe(new), *tail])
    return response


def _csv_safe(value: Any) -> str:
    # Personio data is outside input: a leading = + - @ would run as a formula in a spreadsheet.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
