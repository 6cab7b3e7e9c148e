"""Tasks that run executions, sweep due waits and lapsed leases, and prune old step data."""
