"""The http_request action."""

from workflows.nodes import register  # noqa: F401
