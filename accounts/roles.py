"""Roles and the one permission matrix that decides what each role may do."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Perm(StrEnum):
    READ = "workspace.read"
    WRITE_CONTENT = "content.write"  # pages, contacts, workflows, campaigns
    MANAGE_MEMBERS = "members.manage"
    MANAGE_API_KEYS = "api_keys.manage"
    MANAGE_DOMAINS = "domains.manage"
    MANAGE_SETTINGS = "settings.manage"
    READ_AUDIT_LOG = "audit_log.read"
    DELETE_WORKSPACE = "workspace.delete"
    TRANSFER_OWNERSHIP = "workspace.transfer"


_VIEWER = frozenset({Perm.READ})
_EDITOR = _VIEWER | {Perm.WRITE_CONTENT}
_ADMIN = _EDITOR | {
    Perm.MANAGE_MEMBERS,
    Perm.MANAGE_API_KEYS,
    Perm.MANAGE_DOMAINS,
    Perm.MANAGE_SETTINGS,
    Perm.READ_AUDIT_LOG,
}
_OWNER = _ADMIN | {Perm.DELETE_WORKSPACE, Perm.TRANSFER_OWNERSHIP}

PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.VIEWER: _VIEWER,
    Role.EDITOR: _EDITOR,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _OWNER,
}

# Higher ranks may grant roles up to their own; nobody grants owner except by transfer.
RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}
GRANTABLE_ROLES = (Role.ADMIN, Role.EDITOR, Role.VIEWER)
GRANTABLE_ROLE_CHOICES = [(role.value, role.label) for role in GRANTABLE_ROLES]


def can(role: str, perm: Perm) -> bool:
    return perm in PERMISSIONS.get(Role(role), frozenset())
