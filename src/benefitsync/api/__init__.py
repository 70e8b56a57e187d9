"""The JSON API for the employee app (django-ninja; OpenAPI schema at /api/openapi.json, docs at
/api/docs). Session auth, CSRF on unsafe methods; see `benefitsync.api.employee`."""
