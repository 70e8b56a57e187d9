"""Employees of a company, whether synchronized from Personio or created by hand."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from benefitsync.lib.months import Month, month_or_none


class EmployeeStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("employee status", "Active")
    LEAVING = "leaving", pgettext_lazy("employee status", "Leaving planned")
    LEFT = "left", pgettext_lazy("employee status", "Left")


class EmployeeSource(models.TextChoices):
    PERSONIO = "personio", _("Personio")
    MANUAL = "manual", _("Created by hand")


class InvitationState(models.TextChoices):
    NOT_INVITED = "not_invited", _("Not invited")
    INVITED = "invited", _("Invited")
    SIGNED_UP = "signed_up", _("Signed up")


class Employee(models.Model):
    """A person employed by a company.

    `status` and `last_working_month` change only through `employees.services`; `last_working_month`
    is stored as the first day of that month.
    """

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="employees"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee",
    )
    first_name = models.CharField(_("first name"), max_length=200)
    last_name = models.CharField(_("last name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    personnel_number = models.CharField(_("personnel number"), max_length=100, blank=True)
    employment_type = models.CharField(_("employment type"), max_length=40, blank=True)
    hire_date = models.DateField(_("hire date"), null=True, blank=True)
    leaving_date = models.DateField(_("leaving date"), null=True, blank=True)
    last_working_month = models.DateField(_("last working month"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=40, blank=True)
    personio_company_name = models.CharField(_("company (Personio)"), max_length=200, blank=True)
    marital_status = models.CharField(_("married?"), max_length=100, blank=True)
    personio_status = models.CharField(_("Personio status"), max_length=40, blank=True)
    personio_id = models.BigIntegerField(_("Personio ID"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=EmployeeSource.choices, default=EmployeeSource.MANUAL
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=EmployeeStatus.choices,
        default=EmployeeStatus.ACTIVE,
        db_index=True,
    )
    invitation_state = models.CharField(
        _("invitation"),
        max_length=20,
        choices=InvitationState.choices,
        default=InvitationState.NOT_INVITED,
    )
    missing_from_personio = models.BooleanField(_("no longer in Personio"), default=False)
    # The last sync could not take this employee's Personio record: {"code", "params", "run"}
    # (an `integrations.personio.texts` note); None when the last full sync took it.
    sync_problem = models.JSONField(null=True, blank=True)
    missing_since = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "personio_id"],
                condition=models.Q(personio_id__isnull=False),
                name="employee_personio_id_once_per_company",
            ),
            models.UniqueConstraint(
                "company",
                Lower("email"),
                condition=~models.Q(email=""),
                name="employee_email_once_per_company",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "status"]),
            models.Index(fields=["company", "last_name", "first_name"]),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def lwm(self) -> Month | None:
        """The last working month as a Month."""
        return month_or_none(self.last_working_month)


class ErasedPerson(models.Model):
    """An employee HR erased (GDPR) whom an HR system still delivers: never created again.

    Keeps no personal data: `digest` is a keyed hash (`lib.crypto.keyed_digests`, key outside
    the database) of the company and the person's ID in the HR system, so nobody with the
    database alone can tell who it was. HR lifts it for one person by naming the ID again.
    """

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="erased_people"
    )
    digest = models.CharField(max_length=64)
    erased_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "digest"], name="erased_person_once")
        ]

    def __str__(self) -> str:
        return f"erased person of company {self.company_id} ({self.erased_on})"
