"""Helpers without models: environment, months, crypto, e-mail."""
