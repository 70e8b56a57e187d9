"""Employees and their lifecycle (Active, Leaving planned, Left)."""
