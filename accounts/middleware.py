from django.utils.functional import SimpleLazyObject
from rest_framework.exceptions import NotFound

from accounts.selectors import WorkspaceAccess, workspace_access_resolve

SESSION_KEY = "workspace_id"


def dashboard_workspace_access(request) -> WorkspaceAccess | None:
    """The dashboard's current workspace: the one picked in the switcher, else the default."""
    if not request.user.is_authenticated:
        return None
    try:
        return workspace_access_resolve(user=request.user, workspace_ref=request.session.get(SESSION_KEY))
    except NotFound:
        request.session.pop(SESSION_KEY, None)
        try:
            return workspace_access_resolve(user=request.user)
        except NotFound:
            return None


class DashboardWorkspaceMiddleware:
    """Sets request.workspace_access for dashboard pages, resolved only when a page asks for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.workspace_access = SimpleLazyObject(lambda: dashboard_workspace_access(request))
        return self.get_response(request)
