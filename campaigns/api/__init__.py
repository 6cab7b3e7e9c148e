"""The email app's API: campaigns, senders, sending settings, the ledger and suppressions."""
