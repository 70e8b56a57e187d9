"""Benefit types, per-employee benefits, monthly vouchers and receipts."""
