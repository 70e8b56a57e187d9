"""`benefitsync personio connect|disconnect|pause|resume|filter|status|allow-again SLUG` — operator
commands for a company's Personio integration (the same services the portal uses).

`connect` validates and stores the credentials, then runs the first synchronization in this
process (a worker is not needed), unless `--no-sync`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benefitsync.companies.cli import company_by_slug
from benefitsync.employees import services as employee_services
from benefitsync.integrations.personio import services, sync
from benefitsync.integrations.personio.management.commands.sync import run_summary
from benefitsync.integrations.personio.services import ConnectError


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class Command(BaseCommand):
    help = (
        "Connect, disconnect, pause, resume a company's Personio integration, repair its "
        "webhooks or set its filter."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        connect = sub.add_parser("connect", help="Validate and store credentials, then sync.")
        connect.add_argument("slug")
        connect.add_argument("--client-id", required=True)
        connect.add_argument("--client-secret", required=True)
        connect.add_argument("--base-url")
        connect.add_argument("--no-sync", action="store_true", help="Skip the first sync.")
        connect.add_argument("--auto-invite", choices=["on", "off"])
        for name in ("disconnect", "pause", "resume", "status", "repair-webhooks"):
            p = sub.add_parser(name)
            p.add_argument("slug")
            p.add_argument("--json", action="store_true")
        allow = sub.add_parser(
            "allow-again", help="Let syncs create a person erased in the portal (GDPR) again."
        )
        allow.add_argument("slug")
        allow.add_argument("personio_id", type=int)
        filt = sub.add_parser("filter", help="Set or clear the company filter (support action).")
        filt.add_argument("slug")
        filt.add_argument("--email-domains", help="Comma-separated, e.g. a.de,b.de")
        filt.add_argument("--company-names", help='Comma-separated, e.g. "A GmbH,B GmbH"')
        filt.add_argument(
            "--opt-in",
            choices=["on", "off"],
            help="Require the opt-in attribute (label set by --opt-in-label) to be yes/true/ja.",
        )
        filt.add_argument(
            "--opt-in-label", help="Label of the opt-in attribute; turns --opt-in on."
        )
        filt.add_argument("--clear", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["slug"])
        action = options["action"]
        if action == "connect":
            auto_invite = options["auto_invite"]
            try:
                # The first sync is queued, not handed to a worker: this process runs it, so
                # the documented "connect, then sync" works with and without a worker.
                integration = services.do_connect_personio(
                    company,
                    client_id=options["client_id"],
                    client_secret=options["client_secret"],
                    base_url=options["base_url"],
                    auto_invite=None if auto_invite is None else auto_invite == "on",
                    acting_user=None,
                    first_sync=not options["no_sync"],
                    enqueue=False,
                )
            except ConnectError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(f"Integration active for {company.slug} ({integration.base_url})")
            queued = sync.in_progress(company)
            if queued is not None:
                run = sync.execute_run(queued.pk)
                self.stdout.write(f"First synchronization: {run.status} {run_summary(run)}")
        elif action == "allow-again":
            lifted = employee_services.do_allow_personio_id_again(
                company, options["personio_id"], acting_user=None
            )
            self.stdout.write("allowed again" if lifted else "that Personio ID was not blocked")
        elif action == "repair-webhooks":
            try:
                integration = services.do_repair_webhooks(company, acting_user=None)
            except ConnectError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(
                "webhooks active" if integration.webhooks_active else integration.webhook_text
            )
        elif action == "disconnect":
            services.do_disconnect_personio(company, acting_user=None)
            self.stdout.write("Disconnected; employees and benefits are unchanged.")
        elif action in ("pause", "resume"):
            try:
                fn = (
                    services.do_pause_personio if action == "pause" else services.do_resume_personio
                )
                fn(company, acting_user=None)
            except ConnectError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(f"{action}d")
        elif action == "status":
            self.stdout.write(
                json.dumps(status_json(company), indent=None if options["json"] else 2)
            )
        elif action == "filter":
            integration = services.integration_for(company)
            if options["opt_in_label"]:
                integration.opt_in_label = options["opt_in_label"].strip()
                integration.save(update_fields=["opt_in_label"])
            domains: list[str]
            names: list[str]
            if options["clear"]:
                domains, names, opt_in = [], [], False
            else:
                domains = (
                    _csv(options["email_domains"])
                    if options["email_domains"] is not None
                    else integration.filter_email_domains
                )
                names = (
                    _csv(options["company_names"])
                    if options["company_names"] is not None
                    else integration.filter_company_names
                )
                opt_in = (
                    options["opt_in"] == "on"
                    if options["opt_in"]
                    else bool(options["opt_in_label"]) or integration.filter_opt_in
                )
            try:
                services.do_set_company_filter(
                    company,
                    email_domains=domains,
                    company_names=names,
                    opt_in=opt_in,
                    acting_user=None,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(json.dumps(status_json(company)["filter"]))


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def status_json(company: Any) -> dict[str, Any]:
    integration = services.integration_for(company)
    return {
        "company": company.slug,
        "status": integration.status,
        "base_url": integration.base_url,
        "client_id": integration.client_id,
        "auto_invite": integration.auto_invite,
        "next_sync_at": integration.next_sync_at.isoformat() if integration.next_sync_at else None,
        "changes_arrive": {
            "webhooks": integration.webhook_state,
            "why": integration.webhook_text,
            "last_event_at": _iso(integration.last_event_at),
            "delta_every_minutes": None
            if integration.webhooks_active
            else integration.delta_interval,
            "next_delta_at": _iso(integration.next_delta_at),
        },
        "attributes": integration.last_attributes,
        "filter": {
            "email_domains": integration.filter_email_domains,
            "company_names": integration.filter_company_names,
            "opt_in": integration.filter_opt_in,
            "opt_in_label": integration.opt_in_label,
        },
    }
