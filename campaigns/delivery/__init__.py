"""Delivery: turning ledger rows into messages handed to a backend, each exactly once over SMTP and
at most once elsewhere. `sending` holds the claim/send loop and the sweeper, `messages` builds a
row's message, `backends` talks to Django's email backends, `ratelimit` shares a workspace's rate
across workers."""
