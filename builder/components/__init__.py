"""The component registry. Importing this package registers every type."""

from builder.components import types  # noqa: F401  (registration on import)
from builder.components.base import REGISTRY, ComponentType, ConfigError, clean_url, get_type

__all__ = ["REGISTRY", "ComponentType", "ConfigError", "clean_url", "get_type"]
