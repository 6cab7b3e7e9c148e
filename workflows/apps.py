from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from workflows import (
            handlers,  # noqa: F401  (trigger handlers register on import)
            nodes,  # noqa: F401  (node types register on import)
        )
