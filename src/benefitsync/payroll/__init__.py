"""Payroll: the month's benefit figures per employee, the month close, CSV and DATEV LODAS files."""
