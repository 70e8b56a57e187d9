"""The Personio integration: client, sandbox, reconcile and sync."""
