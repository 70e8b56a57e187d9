"""Forms of the employee pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus


class EmploymentType:
    CHOICES = [("", "—"), ("internal", _("Internal")), ("external", _("External"))]


class EmployeeSearchForm(forms.Form):
    """The query string of the employee list; invalid values fall back to 'everything'."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All statuses")),
            *EmployeeStatus.choices,
        ],
    )


class EmployeeForm(forms.Form):
    """Master data of an employee created or edited by hand."""

    first_name = forms.CharField(label=_("First name"), max_length=200)
    last_name = forms.CharField(label=_("Last name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"), required=False)
    personnel_number = forms.CharField(label=_("Personnel number"), max_length=100, required=False)
    employment_type = forms.ChoiceField(
        label=_("Employment type"), choices=EmploymentType.CHOICES, required=False
    )
    hire_date = forms.DateField(
        label=_("Hire date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    gender = forms.CharField(label=_("Gender"), max_length=40, required=False)

    def __init__(
        self,
        *args: Any,
        company: Company,
        employee_id: int | None = None,
        readonly: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        self.employee_id = employee_id
        # Disabled fields keep their initial value whatever is posted (Django ignores the input).
        for name in readonly:
            if name in self.fields:
                self.fields[name].disabled = True

    def clean_email(self) -> str:
        email: str = self.cleaned_data.get("email") or ""
        email = email.strip()
        if email:
            others = Employee.objects.filter(company=self.company, email__iexact=email)
            if self.employee_id is not None:
                others = others.exclude(pk=self.employee_id)
            if others.exists():
                raise forms.ValidationError(
                    _("Another employee of this company already has this e-mail address.")
                )
        return email
