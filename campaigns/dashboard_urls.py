"""Email's dashboard pages, included under /campaigns/ in the dashboard's namespace. Every name
contains "campaigns", so the sidebar marks the section as current on all of them."""

from django.urls import path

from campaigns.views import campaigns, outbox, reports, senders

urlpatterns = [
    path("", campaigns.campaign_list, name="campaigns"),
    path("new/", campaigns.campaign_new, name="campaigns-new"),
    path("recipients/", campaigns.campaign_recipients, name="campaigns-recipients"),
    path("<int:pk>/", campaigns.campaign_detail, name="campaigns-detail"),
    path("<int:pk>/edit/", campaigns.campaign_edit, name="campaigns-edit"),
    path("<int:pk>/preview/", campaigns.campaign_preview, name="campaigns-preview"),
    path("<int:pk>/progress/", campaigns.campaign_progress, name="campaigns-progress"),
    path("<int:pk>/pause/", campaigns.campaign_pause_view, name="campaigns-pause"),
    path("<int:pk>/resume/", campaigns.campaign_resume_view, name="campaigns-resume"),
    path("<int:pk>/cancel/", campaigns.campaign_cancel_view, name="campaigns-cancel"),
    path("<int:pk>/delete/", campaigns.campaign_remove, name="campaigns-delete"),
    path("<int:pk>/report/", reports.campaign_report, name="campaigns-report"),
    path("senders/", senders.sender_list, name="campaigns-senders"),
    path("senders/<int:pk>/resend/", senders.sender_resend, name="campaigns-sender-resend"),
    path("senders/<int:pk>/delete/", senders.sender_remove, name="campaigns-sender-delete"),
    path("settings/", senders.sending_settings, name="campaigns-settings"),
    path("outbox/", outbox.outbox_list, name="campaigns-outbox"),
    path("outbox/<str:name>/<int:index>/", outbox.outbox_message, name="campaigns-outbox-message"),
    path("outbox/<str:name>/<int:index>/html/", outbox.outbox_message_html, name="campaigns-outbox-html"),
]
