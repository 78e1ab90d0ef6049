"""Writes with business rules."""
