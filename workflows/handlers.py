"""Outbox event handlers: events start workflows (triggers) and wake waiting executions."""
