"""Swagger UI for /api/docs from django-ninja's own files, with ninja not an installed app.

django-ninja renders its local template (`ninja/swagger.html`: Swagger UI from static files) only
when the string "ninja" is in INSTALLED_APPS, and otherwise a template that loads Swagger UI from a
CDN, which the page policy blocks. Installing the app would import ninja and pydantic at every
`django.setup()` (~0.2 s of CPU in every command), so settings.py lists ninja's template and
static folders instead (`NINJA_DIR`) and this class points ninja's fallback at the local template.
"""

from __future__ import annotations

from ninja.openapi.docs import ABS_TPL_PATH, Swagger


class LocalSwagger(Swagger):
    """ninja's Swagger page, always from the pinned static files (settings.STATICFILES_DIRS)."""

    template_cdn = str(ABS_TPL_PATH / "swagger.html")
