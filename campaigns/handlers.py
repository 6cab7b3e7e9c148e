"""Event handlers owned by the email app."""
