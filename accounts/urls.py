from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import api

router = SimpleRouter()
router.register("workspaces", api.WorkspaceViewSet, basename="workspace")
nested = r"workspaces/(?P<workspace_pk>[0-9]+)"
router.register(f"{nested}/members", api.MemberViewSet, basename="workspace-member")
router.register(f"{nested}/invitations", api.InvitationViewSet, basename="workspace-invitation")
router.register(f"{nested}/api-keys", api.ApiKeyViewSet, basename="workspace-api-key")
router.register(f"{nested}/audit-log", api.AuditEventViewSet, basename="workspace-audit-log")

urlpatterns = [
    path("auth/register/", api.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", api.TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh/", api.TokenRefreshThrottledView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", api.LogoutView.as_view(), name="auth-logout"),
    path("me/", api.MeView.as_view(), name="me"),
    path("invitations/accept/", api.InvitationAcceptView.as_view(), name="invitation-accept"),
    *router.urls,
]
