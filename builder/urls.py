from django.urls import path
from rest_framework.routers import SimpleRouter

from builder import api

router = SimpleRouter()
router.register("templates", api.TemplateViewSet, basename="template")
router.register("sites", api.SiteViewSet, basename="site")
router.register(r"sites/(?P<site_pk>[0-9]+)/revisions", api.RevisionViewSet, basename="site-revision")
router.register("pages", api.PageViewSet, basename="page")
router.register("components", api.ComponentViewSet, basename="component")
router.register("form-submissions", api.FormSubmissionViewSet, basename="form-submission")

urlpatterns = [
    path("component-types/", api.ComponentTypeListView.as_view(), name="component-types"),
    *router.urls,
]
