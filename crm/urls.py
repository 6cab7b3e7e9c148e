from rest_framework.routers import SimpleRouter

from crm.api import segments

router = SimpleRouter()
router.register("segments", segments.SegmentViewSet, basename="segment")

urlpatterns = [
    *router.urls,
]
