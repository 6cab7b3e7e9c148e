from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api import campaigns, ledger, senders

router = SimpleRouter()
router.register("campaigns", campaigns.CampaignViewSet, basename="campaign")
router.register("senders", senders.SenderViewSet, basename="sender")
router.register("email-sends", ledger.EmailSendViewSet, basename="email-send")
router.register("suppressions", ledger.SuppressionViewSet, basename="suppression")

urlpatterns = [
    path(
        "workspaces/<int:workspace_pk>/sending-settings/",
        senders.SendingSettingsViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
        name="sending-settings",
    ),
    *router.urls,
]
