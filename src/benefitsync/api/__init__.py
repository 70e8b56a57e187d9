"""The JSON API for the employee app (django-ninja, OpenAPI schema at /api/docs)."""
