"""Workflows' dashboard pages, included under /workflows/ in the dashboard's namespace. Every name
contains "workflows", so the sidebar marks the section as current on all of them."""

from django.urls import path, re_path

from workflows import views

urlpatterns = [
    path("", views.workflow_list, name="workflows"),
    path("new/", views.workflow_new, name="workflows-new"),
    path("<int:pk>/edit/", views.workflow_edit, name="workflows-edit"),
    path("<int:pk>/stats/", views.workflow_stats, name="workflows-stats"),
    path("<int:pk>/status/", views.workflow_status, name="workflows-status"),
    path("<int:pk>/delete/", views.workflow_remove, name="workflows-delete"),
    path("executions/", views.execution_list, name="workflows-executions"),
    path("executions/<int:pk>/", views.execution_detail, name="workflows-execution"),
    re_path(
        r"^executions/(?P<pk>[0-9]+)/(?P<action>retry|rerun|cancel)/$",
        views.execution_action,
        name="workflows-execution-action",
    ),
]
