"""The fail-closed base for every tenant API endpoint.

A subclass names a `queryset` over a model with a `workspace` field and gets it filtered to the
request's workspace; it may narrow it further in `safely_get_queryset()`. Overriding
`get_queryset()` itself is refused when the class is created, so no endpoint can forget the filter.
"""

from functools import cached_property

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from rest_framework import permissions, viewsets

from accounts.roles import Perm
from accounts.selectors import WorkspaceAccess, workspace_access_resolve


class HasWorkspacePermission(permissions.BasePermission):
    """The view's required permission for this action, checked against the request's role."""

    message = "Your role in this workspace does not allow this."

    def has_permission(self, request, view) -> bool:
        perm = view.required_permission()
        return perm is None or view.workspace_access.can(perm)


class WorkspaceAccessMixin:
    """Resolves the request's workspace and role; not a member is a 404."""

    #: The URL kwarg that names the workspace, for routes nested under /workspaces/{id}/.
    workspace_url_kwarg = "workspace_pk"
    #: action name → permission; unlisted actions need READ when safe and WRITE_CONTENT otherwise.
    action_permissions: dict[str, Perm] = {}
    permission_classes = [permissions.IsAuthenticated, HasWorkspacePermission]

    @cached_property
    def workspace_access(self) -> WorkspaceAccess:
        ref = self.kwargs.get(self.workspace_url_kwarg) or self.request.headers.get("X-Workspace")
        access = workspace_access_resolve(user=self.request.user, workspace_ref=ref)
        self.resolved_workspace_access = access
        return access

    @property
    def workspace(self):
        return self.workspace_access.workspace

    def required_permission(self) -> Perm | None:
        """None means the action needs no workspace (e.g. listing your workspaces)."""
        if perm := self.action_permissions.get(self.action):
            return perm
        return Perm.READ if self.request.method in permissions.SAFE_METHODS else Perm.WRITE_CONTENT


class WorkspaceScopedViewSet(WorkspaceAccessMixin, viewsets.GenericViewSet):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__qualname__} overrides get_queryset(); narrow the queryset in safely_get_queryset() "
                "so the workspace filter cannot be skipped."
            )
        if cls.queryset is not None:
            try:
                cls.queryset.model._meta.get_field("workspace")
            except FieldDoesNotExist:
                raise ImproperlyConfigured(
                    f"{cls.__qualname__}.queryset is over {cls.queryset.model.__name__}, which has no workspace field."
                ) from None

    def get_queryset(self):
        if self.queryset is None:
            raise ImproperlyConfigured(f"{type(self).__qualname__} needs a queryset.")
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request workspace
            return self.queryset.none()
        return self.safely_get_queryset(self.queryset.all().filter(workspace=self.workspace))

    def safely_get_queryset(self, queryset):
        """Narrow or annotate the already workspace-filtered queryset."""
        return queryset
