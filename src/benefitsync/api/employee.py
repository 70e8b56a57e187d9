"""The employee app's JSON API: my benefits, vouchers (list, select, redeem), receipts.

Authentication is the web session (`django_auth`, which also checks CSRF on unsafe methods: send
the `csrftoken` cookie's value as `X-CSRFToken`). Only users linked to an employee get data; others
get 404. A rule refusal is 403 with the rule's reason in `detail`, in the request's language.
The same services as the pages do the work, so both enforce the same rules.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import File, Form, NinjaAPI, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.security import django_auth
from pydantic import AfterValidator, Field

from benefitsync.accounts import access
from benefitsync.api.docs import LocalSwagger
from benefitsync.benefits.models import EmployeeBenefit, Receipt, VoucherSelection
from benefitsync.benefits.receipts import do_submit_receipt
from benefitsync.benefits.vouchers import (
    VOUCHER_PROVIDERS,
    do_redeem_voucher,
    do_select_voucher,
    provider_name,
)
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.lib.months import MONTH_PATTERN, Month, parse_entered

# A month as the API accepts it: the pattern documents it in the schema, `parse_entered` (the
# validator of every form too) decides.
MonthText = Annotated[
    str,
    Field(pattern=MONTH_PATTERN, examples=["2026-11"]),
    AfterValidator(lambda text: str(parse_entered(text))),
]

api = NinjaAPI(
    title="benefitsync employee API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    description=__doc__ or "",
    docs=LocalSwagger(),
)


class Error(Schema):
    detail: str


class MeOut(Schema):
    first_name: str
    company: str
    status: str
    status_label: str
    last_working_month: str | None


class BenefitOut(Schema):
    id: int
    kind: str
    label: str
    monthly_amount: Decimal
    start_month: str
    end_month: str | None
    active_this_month: bool


class ProviderOut(Schema):
    key: str
    name: str


class VoucherOut(Schema):
    id: int
    month: str
    provider: str
    provider_name: str
    amount: Decimal
    code: str | None
    issued_at: dt.datetime | None
    redeemed_at: dt.datetime | None


class VoucherSelectIn(Schema):
    month: MonthText
    provider: Annotated[str, Field(max_length=100, examples=["amazon"])]


class ReceiptOut(Schema):
    id: int
    benefit_id: int
    kind: str
    month: str
    amount: Decimal
    status: str
    created_at: dt.datetime
    # Set once decided: what will be reimbursed (approved), the HR admin's reason (rejected).
    approved_amount: Decimal | None = None
    decision_reason: str = ""
    decided_at: dt.datetime | None = None


@api.exception_handler(ActionRefused)
def refused(request: HttpRequest, exc: ActionRefused) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=403)


def _voucher(selection: VoucherSelection) -> VoucherOut:
    return VoucherOut(
        id=selection.pk,
        month=f"{selection.month:%Y-%m}",
        provider=selection.provider,
        provider_name=provider_name(selection.provider),
        amount=selection.amount,
        code=selection.code or None,
        issued_at=selection.issued_at,
        redeemed_at=selection.redeemed_at,
    )


def _receipt(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut(
        id=receipt.pk,
        benefit_id=receipt.benefit_id,
        kind=receipt.benefit.kind,
        month=f"{receipt.month:%Y-%m}",
        amount=receipt.amount,
        status=receipt.status,
        created_at=receipt.created_at,
        approved_amount=receipt.approved_amount,
        decision_reason=receipt.decision_reason,
        decided_at=receipt.decided_at,
    )


AUTH_ERRORS = {401: Error, 404: Error}


@api.get("/me", response={200: MeOut, **AUTH_ERRORS}, tags=["me"])
@access.employee("GET")
def me(request: HttpRequest) -> MeOut:
    employee = access.employee_of(request)
    return MeOut(
        first_name=employee.first_name,
        company=employee.company.name,
        status=employee.status,
        status_label=str(employee.get_status_display()),
        last_working_month=str(employee.lwm) if employee.lwm else None,
    )


@api.get("/me/benefits", response={200: list[BenefitOut], **AUTH_ERRORS}, tags=["benefits"])
@access.employee("GET")
def my_benefits(request: HttpRequest) -> list[BenefitOut]:
    employee = access.employee_of(request)
    current = Month.of(company_today(employee.company))
    return [
        BenefitOut(
            id=b.pk,
            kind=b.kind,
            label=str(b.get_kind_display()),
            monthly_amount=b.monthly_amount,
            start_month=f"{b.start_month:%Y-%m}",
            end_month=f"{b.end_month:%Y-%m}" if b.end_month else None,
            active_this_month=b.is_active_in(current),
        )
        for b in EmployeeBenefit.objects.filter(employee=employee)
    ]


@api.get("/voucher-providers", response={200: list[ProviderOut], 401: Error}, tags=["vouchers"])
@access.logged_in("GET")
def voucher_providers(request: HttpRequest) -> list[ProviderOut]:
    return [ProviderOut(key=k, name=v) for k, v in VOUCHER_PROVIDERS.items()]


@api.get("/me/vouchers", response={200: list[VoucherOut], **AUTH_ERRORS}, tags=["vouchers"])
@access.employee("GET")
def my_vouchers(request: HttpRequest) -> list[VoucherOut]:
    employee = access.employee_of(request)
    return [_voucher(s) for s in VoucherSelection.objects.filter(employee=employee)]


@api.post(
    "/me/vouchers",
    response={201: VoucherOut, 403: Error, **AUTH_ERRORS},
    tags=["vouchers"],
)
@access.employee("POST")
def select_voucher(request: HttpRequest, payload: VoucherSelectIn) -> Status[VoucherOut]:
    """Select (or change, until issued) the voucher of a month."""
    employee = access.employee_of(request)
    selection = do_select_voucher(
        employee,
        month=parse_entered(payload.month),
        provider=payload.provider,
        today=company_today(employee.company),
        acting_user=employee.user,
    )
    return Status(201, _voucher(selection))


@api.post(
    "/me/vouchers/{voucher_id}/redeem",
    response={200: VoucherOut, 403: Error, **AUTH_ERRORS},
    tags=["vouchers"],
)
@access.employee("POST")
def redeem_voucher(request: HttpRequest, voucher_id: int) -> VoucherOut:
    employee = access.employee_of(request)
    selection = get_object_or_404(VoucherSelection, pk=voucher_id, employee=employee)
    selection = do_redeem_voucher(
        selection, today=company_today(employee.company), acting_user=employee.user
    )
    return _voucher(selection)


@api.get("/me/receipts", response={200: list[ReceiptOut], **AUTH_ERRORS}, tags=["receipts"])
@access.employee("GET")
def my_receipts(request: HttpRequest) -> list[ReceiptOut]:
    employee = access.employee_of(request)
    return [
        _receipt(r) for r in Receipt.objects.filter(employee=employee).select_related("benefit")
    ]


@api.post(
    "/me/receipts",
    response={201: ReceiptOut, 403: Error, **AUTH_ERRORS},
    tags=["receipts"],
)
@access.employee("POST")
def submit_receipt(
    request: HttpRequest,
    benefit_id: Form[int],
    month: Form[MonthText],
    amount: Form[Annotated[Decimal, Field(gt=0, le=Decimal("99999.99"), decimal_places=2)]],
    file: File[UploadedFile],
) -> Status[ReceiptOut]:
    """Upload a receipt (PDF, JPEG or PNG) for a reimbursement benefit."""
    employee = access.employee_of(request)
    benefit = EmployeeBenefit.objects.filter(pk=benefit_id, employee=employee).first()
    if benefit is None:
        raise HttpError(404, "No such benefit")
    receipt = do_submit_receipt(
        employee,
        benefit=benefit,
        month=parse_entered(month),
        amount=amount,
        upload=file,
        today=company_today(employee.company),
        acting_user=employee.user,
    )
    return Status(201, _receipt(receipt))
