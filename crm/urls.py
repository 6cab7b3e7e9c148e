from django.urls import path
from rest_framework.routers import SimpleRouter

from crm.api import contacts, gdpr, imports, scoring, segments, taxonomy

router = SimpleRouter()
router.register("segments", segments.SegmentViewSet, basename="segment")
router.register("contacts", contacts.ContactViewSet, basename="contact")
router.register(
    r"contacts/(?P<contact_pk>[0-9]+)/activities", contacts.ContactActivityViewSet, basename="contact-activity"
)
router.register("tags", taxonomy.TagViewSet, basename="tag")
router.register("custom-fields", taxonomy.CustomFieldViewSet, basename="custom-field")
router.register("scoring-rules", scoring.ScoringRuleViewSet, basename="scoring-rule")
router.register("contact-imports", imports.ContactImportViewSet, basename="contact-import")
router.register("contact-exports", imports.ContactExportViewSet, basename="contact-export")

urlpatterns = [
    path(
        "workspaces/<int:workspace_pk>/scoring-settings/",
        scoring.ScoringSettingsViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
        name="scoring-settings",
    ),
    path(
        "contacts/<int:pk>/score/",
        scoring.ContactScoreViewSet.as_view({"get": "retrieve", "post": "adjust"}),
        name="contact-score",
    ),
    path("contacts/<int:pk>/export/", gdpr.ContactGdprViewSet.as_view({"get": "export"}), name="contact-data-export"),
    path("contacts/<int:pk>/erase/", gdpr.ContactGdprViewSet.as_view({"post": "erase"}), name="contact-erase"),
    *router.urls,
]
