from django.urls import path
from rest_framework.routers import SimpleRouter

from workflows import api

router = SimpleRouter()
router.register("workflows", api.WorkflowViewSet, basename="workflow")
router.register(r"workflows/(?P<workflow_pk>[0-9]+)/versions", api.WorkflowVersionViewSet, basename="workflow-version")
router.register("executions", api.ExecutionViewSet, basename="execution")

urlpatterns = [
    path("workflow-node-types/", api.NodeTypeListView.as_view(), name="workflow-node-types"),
    path("workflow-templates/", api.WorkflowTemplateListView.as_view(), name="workflow-templates"),
    *router.urls,
]
