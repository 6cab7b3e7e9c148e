"""Reads from the CRM, one module per concern."""
