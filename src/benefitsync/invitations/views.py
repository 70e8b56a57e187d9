"""The sign-up page behind an invitation link: set a password, be logged in, land on /me/."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from benefitsync.accounts import access
from benefitsync.employee_area.forms import SignUpForm
from benefitsync.invitations.services import InvitationRefused, check_token, do_accept_invitation


def _problem_text(problem: str) -> str:
    return {
        "expired": _(
            "This invitation link has expired. Please ask your HR department for a new one."
        ),
        "used": _("This invitation link has already been used. Please log in instead."),
        "signed_up": _("You have already signed up. Please log in instead."),
        "account_exists": _(
            "There is already an account with your e-mail address. Please log in instead."
        ),
    }.get(problem, _("This invitation link is not valid. Please check the link in your e-mail."))


@access.public("GET", "POST")
@never_cache
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest, token: str) -> HttpResponse:
    result = check_token(token)
    if result.problem or result.invitation is None:
        return render(
            request,
            "invitations/signup.html",
            {"problem": result.problem or "unknown", "message": _problem_text(result.problem)},
            status=410 if result.problem in {"expired", "used", "signed_up"} else 404,
        )
    employee = result.invitation.employee
    form = SignUpForm(request.POST or None, email=employee.email)
    if request.method == "POST" and form.is_valid():
        try:
            employee = do_accept_invitation(token, form.cleaned_data["password1"])
        except InvitationRefused as refusal:
            problem = str(refusal)
            return render(
                request,
                "invitations/signup.html",
                {"problem": problem, "message": _problem_text(problem)},
                status=410,
            )
        assert employee.user is not None  # do_accept_invitation links the new login
        login(request, employee.user, backend="benefitsync.accounts.backends.ThrottledModelBackend")
        return redirect("employee_area:home")
    return render(
        request,
        "invitations/signup.html",
        {
            "problem": "",
            "form": form,
            "employee": employee,
            "company": employee.company,
            # Shown before the first try, in the page's language: Django's validators' own texts.
            "password_rules": password_validators_help_texts(),
        },
        status=400 if request.method == "POST" else 200,
    )
