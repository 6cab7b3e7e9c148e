"""Reads for accounts: who may see what, resolved once per request."""

from dataclasses import dataclass

from django.db.models import F, QuerySet, Value
from rest_framework.exceptions import NotFound

from accounts.authentication import ApiKeyUser, hash_secret
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import Perm, Role, can
from core.ids import ID_MAX


@dataclass(frozen=True, slots=True)
class WorkspaceAccess:
    """The workspace a request acts in and the role it acts with (a member's, or an API key's)."""

    workspace: Workspace
    role: Role
    api_key: ApiKey | None = None

    def can(self, perm: Perm) -> bool:
        return can(self.role, perm)


def _workspace_filter(ref: str | int) -> dict:
    ref = str(ref).strip()
    # ASCII digits only ("²".isdigit() is true but int() refuses it), and within a BIGINT, so a
    # strange X-Workspace or URL id is a plain 404 rather than a database error.
    if ref.isascii() and ref.isdigit():
        return {"workspace_id": int(ref)} if int(ref) <= ID_MAX else {"pk__in": []}
    return {"workspace__slug": ref}


def workspace_access_resolve(*, user, workspace_ref: str | int | None = None) -> WorkspaceAccess:
    """The request's workspace: the API key's, else the one named (URL or X-Workspace: id or slug),
    else the user's default. Anything the caller is not a member of is a 404, never a 403."""
    if isinstance(user, ApiKeyUser):
        key = user.api_key
        if workspace_ref is not None and str(workspace_ref) not in (str(key.workspace_id), key.workspace.slug):
            raise NotFound("Workspace not found.")
        return WorkspaceAccess(workspace=key.workspace, role=Role(key.role), api_key=key)

    memberships = Membership.objects.select_related("workspace").filter(user=user)
    if workspace_ref is not None and str(workspace_ref).strip():
        membership = memberships.filter(**_workspace_filter(workspace_ref)).first()
    else:
        membership = (
            memberships.filter(workspace_id=user.default_workspace_id).first() if user.default_workspace_id else None
        ) or memberships.first()
    if membership is None:
        raise NotFound("Workspace not found.")
    return WorkspaceAccess(workspace=membership.workspace, role=Role(membership.role))


def workspace_list_for(*, user) -> QuerySet[Workspace]:
    """The workspaces the caller may see, each annotated with the caller's `role` in it."""
    if isinstance(user, ApiKeyUser):
        return Workspace.objects.filter(pk=user.api_key.workspace_id).annotate(role=Value(user.api_key.role))
    # One join serves both the filter and the annotation: a workspace row comes with my membership's role.
    return Workspace.objects.filter(memberships__user=user).annotate(role=F("memberships__role"))


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.select_related("workspace").filter(user=user).order_by("workspace__name")


def member_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.for_workspace(workspace).select_related("user")


def invitation_list(*, workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.for_workspace(workspace).select_related("invited_by")


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_workspace(workspace).select_related("created_by")


def audit_event_list(*, workspace: Workspace) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_workspace(workspace).select_related("actor", "api_key")


def invitation_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("workspace", "invited_by").filter(token_hash=hash_secret(token)).first()
