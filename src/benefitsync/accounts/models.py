"""Users. One login page for all roles; the role follows from what the user is linked to.

- support staff: `is_staff` (platform-wide, uses the back office);
- HR admin: has a `companies.Membership` in one or more companies;
- employee: linked to one `employees.Employee` (after sign-up).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("users need an e-mail address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Logins compare e-mail addresses as stored: NFKC-normalised and lower-case, so
        # `Hr@…` and a fullwidth `ｈr@…` find `hr@…` (and share its login throttle).
        from benefitsync.accounts.throttle import canonical_email

        return self.get(email=canonical_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who can log in; identified by e-mail (case-insensitive, stored lower-case)."""

    username = None  # type: ignore[assignment]  # e-mail is the login name
    email = models.EmailField(_("e-mail address"), unique=True)
    # The interface language the user last logged in with: e-mails to them (password reset) use it.
    language = models.CharField(_("language"), max_length=10, blank=True, default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        # Stored lower-case, whichever form (the back office too) created the user.
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def is_support(self) -> bool:
        return bool(self.is_active and self.is_staff)
