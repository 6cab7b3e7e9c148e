"""Writes to the CRM, one module per concern; import from the module, e.g. crm.services.contacts."""
