"""triggers node types."""

from workflows.nodes import register  # noqa: F401
