from django.apps import AppConfig


class BuilderConfig(AppConfig):
    name = "builder"
    verbose_name = "Site builder"

    def ready(self) -> None:
        from builder import components  # noqa: F401  (component types register on import)
