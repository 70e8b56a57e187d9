from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "benefitsync.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        user_logged_in.connect(remember_language, dispatch_uid="accounts.remember_language")
        post_migrate.connect(create_cache_table, dispatch_uid="accounts.create_cache_table")


def remember_language(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Keep the language of the page the user logged in on, for e-mails sent to them later."""
    from django.utils import translation

    language = (translation.get_language() or "")[:10]
    if request is not None and getattr(user, "language", language) != language:
        user.language = language
        user.save(update_fields=["language"])


def create_cache_table(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The login-throttle counters live in the database cache in the embedded default: every
    `migrate` (make run, make test, CI, a fresh clone) creates its table. Nothing happens
    for the Redis cache of the scale mode. Idempotent."""
    if sender.label != "accounts":
        return
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
