from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Email"

    def ready(self) -> None:
        from campaigns import handlers  # noqa: F401  (event handlers and anymail receivers register on import)
