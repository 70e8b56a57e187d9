"""Payroll settings per company, closed months with their frozen figures, and every export made."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from benefitsync.lib.months import Month

# DATEV's numbers: the consultant (Beraternummer) has 4 to 7 digits, the client (Mandantennummer)
# 1 to 5; LODAS refuses an import whose header names another consultant or client.
consultant_number_validator = RegexValidator(
    r"^\d{4,7}$", _("The consultant number has 4 to 7 digits.")
)
client_number_validator = RegexValidator(r"^\d{1,5}$", _("The client number has 1 to 5 digits."))


class PayrollSettings(models.Model):
    """How a company's payroll wants the file: a wage type (Lohnart) per benefit kind and tax
    treatment (`wage_types`: "meal:tax_free" → "4200", keys from `figures.SLOTS`), the DATEV
    consultant and client numbers, and the cut-off day from which a month may be closed.

    Changed only through `payroll.services.do_update_settings` (audited)."""

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="payroll_settings"
    )
    consultant_number = models.CharField(
        _("DATEV consultant number"),
        max_length=7,
        blank=True,
        validators=[consultant_number_validator],
    )
    client_number = models.CharField(
        _("DATEV client number"), max_length=5, blank=True, validators=[client_number_validator]
    )
    cutoff_day = models.PositiveSmallIntegerField(
        _("payroll cut-off day"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
    )
    wage_types = models.JSONField(_("wage types"), default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payroll settings")
        verbose_name_plural = _("payroll settings")

    def __str__(self) -> str:
        return f"payroll settings of company {self.company_id}"


class ClosedMonth(models.Model):
    """A payroll month that is closed: `lines` holds its figures as they were at closing
    (`figures.Line.to_json`, the month's own lines and the corrections it took in) and never
    changes. A later change to this month becomes a correction line of the next open month."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    lines = models.JSONField(default=list)
    # A fingerprint of the month's inputs when its figures were last booked (at the close, or
    # when a later close took in its corrections); see `services.inputs_fingerprint`. Only a
    # changed fingerprint makes the month be recomputed for corrections. Null: always recompute.
    inputs = models.JSONField(null=True, blank=True)
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["company", "month"], name="payroll_month_closed_once")
        ]

    def __str__(self) -> str:
        return f"closed {self.month:%Y-%m}"

    @property
    def as_month(self) -> Month:
        return Month.of(self.month)


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (Excel)")
    DATEV_LODAS = "datev-lodas", _("DATEV LODAS (ASCII import)")


class PayrollExport(models.Model):
    """One file handed out: who (None = the command line), when, which month and format, the
    SHA-256 of the content, and the content itself, so it can be downloaded again unchanged."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    format = models.CharField(_("format"), max_length=20, choices=ExportFormat.choices)
    month_closed = models.BooleanField(_("month closed"), default=False)
    filename = models.CharField(max_length=200)
    content = models.BinaryField()
    checksum = models.CharField(_("SHA-256"), max_length=64)
    line_count = models.PositiveIntegerField(default=0)
    # What kept lines out of payroll when the file was written (`writers.Problem.to_json`).
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"])]

    def __str__(self) -> str:
        return self.filename
