"""The server-rendered dashboard. Each app's pages join here as the app arrives."""

from django.urls import include, path

from accounts import views as account_views
from core import views as core_views

app_name = "dashboard"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("sites/", include("builder.dashboard_urls")),
    path("contacts/", include("crm.dashboard_urls")),
    path("campaigns/", include("campaigns.dashboard_urls")),
    path("workflows/", include("workflows.dashboard_urls")),
    path("analytics/", core_views.section, {"section": "analytics"}, name="analytics"),
    path("settings/", account_views.settings_general, name="settings"),
    path("settings/members/", account_views.settings_members, name="settings-members"),
    path("settings/members/<int:pk>/role/", account_views.member_role, name="member-role"),
    path("settings/members/<int:pk>/remove/", account_views.member_remove, name="member-remove"),
    path("settings/invitations/", account_views.invitation_create, name="invitation-create"),
    path("settings/invitations/<int:pk>/revoke/", account_views.invitation_revoke, name="invitation-revoke"),
    path("settings/api-keys/", account_views.settings_api_keys, name="settings-api-keys"),
    path("settings/api-keys/<int:pk>/revoke/", account_views.api_key_revoke, name="api-key-revoke"),
    path("settings/audit-log/", account_views.settings_audit_log, name="settings-audit-log"),
    path("workspaces/new/", account_views.workspace_new, name="workspace-new"),
    path("workspaces/<int:pk>/switch/", account_views.workspace_switch, name="workspace-switch"),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation-accept"),
]
