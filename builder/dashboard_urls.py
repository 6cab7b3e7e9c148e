"""The builder's dashboard pages, included under /sites/ in the dashboard's namespace."""

from django.urls import path

from builder import views

urlpatterns = [
    path("", views.site_list, name="sites"),
    path("new/", views.site_new, name="sites-new"),
    path("<int:pk>/edit/", views.site_editor, name="sites-editor"),
    path("<int:pk>/edit/<int:page_id>/", views.site_editor, name="sites-editor-page"),
    path("<int:pk>/submissions/", views.site_submissions, name="sites-submissions"),
    path("<int:pk>/submissions.csv", views.site_submissions_csv, name="sites-submissions-csv"),
]
