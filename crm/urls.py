from rest_framework.routers import SimpleRouter

from crm.api import contacts, segments, taxonomy

router = SimpleRouter()
router.register("segments", segments.SegmentViewSet, basename="segment")
router.register("contacts", contacts.ContactViewSet, basename="contact")
router.register(
    r"contacts/(?P<contact_pk>[0-9]+)/activities", contacts.ContactActivityViewSet, basename="contact-activity"
)
router.register("tags", taxonomy.TagViewSet, basename="tag")
router.register("custom-fields", taxonomy.CustomFieldViewSet, basename="custom-field")

urlpatterns = [
    *router.urls,
]
