"""Writes for accounts. Keyword-only, transactional; business rules raise Django's ValidationError
with the offending field named, which the API turns into a 400."""

import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.text import slugify

from accounts.authentication import ApiKeyUser, generate_api_key, hash_secret
from accounts.events import WORKSPACE_TIMEZONE_CHANGED
from accounts.models import (
    ApiKey,
    AuditAction,
    AuditEvent,
    Invitation,
    Membership,
    User,
    Workspace,
    normalize_email,
    validate_timezone,
)
from accounts.roles import GRANTABLE_ROLES, RANK, Role
from core.events import emit
from core.logging import get_logger

log = get_logger(__name__)

INVITATION_TTL = timedelta(days=7)
Actor = User | ApiKeyUser | None


# --- Audit --------------------------------------------------------------------------------------


def audit_record(
    *,
    workspace: Workspace,
    action: AuditAction,
    actor: Actor = None,
    target: Model | None = None,
    ip: str | None = None,
    changes: dict | None = None,
    target_repr: str | None = None,
) -> AuditEvent:
    """`target_repr` replaces str(target) where that would write personal data into the log."""
    api_key = actor.api_key if isinstance(actor, ApiKeyUser) else None
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        workspace=workspace,
        action=action,
        actor=user,
        actor_email=actor.email if actor is not None else "",
        api_key=api_key,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=(target_repr if target_repr is not None else str(target) if target is not None else "")[:200],
        ip=ip,
        changes=changes or {},
    )


def login_record(*, email: str, user: User | None, ip: str | None, success: bool) -> None:
    """A login (or failed login) is recorded in every workspace the account belongs to, so each
    workspace's admins see access to their data; an unknown address only reaches the log stream."""
    log.info("login" if success else "login_failed", email=normalize_email(email), ip=ip)
    if user is None:
        return
    action = AuditAction.LOGIN if success else AuditAction.LOGIN_FAILED
    AuditEvent.objects.bulk_create(
        AuditEvent(
            workspace_id=workspace_id,
            action=action,
            actor=user,
            actor_email=user.email,
            target_type="accounts.user",
            target_id=str(user.pk),
            target_repr=user.email,
            ip=ip,
        )
        for workspace_id in Membership.objects.filter(user=user).values_list("workspace_id", flat=True)
    )


# --- Users and workspaces -----------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    if base.isdigit():
        base = f"ws-{base}"
    slug = base
    while Workspace.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def _clean_workspace_name(name: str) -> str:
    if not name.strip():
        raise ValidationError({"name": "A workspace needs a name."})
    return name.strip()


def _clean_timezone(timezone_name: str) -> str:
    try:
        validate_timezone(timezone_name)
    except ValidationError as exc:
        raise ValidationError({"timezone": exc.messages}) from exc
    return timezone_name


@transaction.atomic
def workspace_create(*, owner: User, name: str, timezone_name: str = "UTC", ip: str | None = None) -> Workspace:
    name = _clean_workspace_name(name)
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name), timezone=_clean_timezone(timezone_name))
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    user_default_workspace_set(user=owner, workspace=workspace, replace=False)
    audit_record(workspace=workspace, action=AuditAction.WORKSPACE_CREATED, actor=owner, target=workspace, ip=ip)
    emit(workspace=workspace, type="workspace.created", payload={"owner_id": owner.pk}, subject=workspace)
    return workspace


@transaction.atomic
def user_register(
    *, email: str, password: str, workspace_name: str, name: str = "", ip: str | None = None
) -> tuple[User, Workspace]:
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this email already exists."})
    user = User(email=email, name=name.strip())
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    workspace = workspace_create(owner=user, name=workspace_name, ip=ip)
    return user, workspace


@transaction.atomic
def workspace_update(
    *,
    workspace: Workspace,
    actor: Actor,
    ip: str | None = None,
    name: str | None = None,
    timezone_name: str | None = None,
) -> Workspace:
    changes = {}
    if name is not None and name.strip() != workspace.name:
        changes["name"] = [workspace.name, _clean_workspace_name(name)]
        workspace.name = changes["name"][1]
    if timezone_name is not None and timezone_name != workspace.timezone:
        changes["timezone"] = [workspace.timezone, _clean_timezone(timezone_name)]
        workspace.timezone = timezone_name
    if changes:
        workspace.save(update_fields=list(changes))
        audit_record(
            workspace=workspace,
            action=AuditAction.WORKSPACE_UPDATED,
            actor=actor,
            target=workspace,
            ip=ip,
            changes=changes,
        )
    if "timezone" in changes:
        # Whatever runs on the workspace's clock (scheduled workflows) re-reads it.
        emit(
            workspace=workspace,
            type=WORKSPACE_TIMEZONE_CHANGED,
            payload={"timezone": workspace.timezone, "previous": changes["timezone"][0]},
            subject=workspace,
        )
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace, actor: Actor, ip: str | None = None) -> None:
    # The workspace's own audit trail goes with it, so the deletion is kept in the log stream.
    log.warning("workspace_deleted", workspace_id=workspace.pk, slug=workspace.slug, actor=str(actor), ip=ip)
    User.objects.filter(default_workspace=workspace).update(default_workspace=None)
    workspace.delete()


# --- Members ------------------------------------------------------------------------------------


def _check_grantable(role: str, *, actor_role: str, field: str = "role") -> Role:
    if role not in Role.values:
        raise ValidationError({field: f"Unknown role {role!r}."})
    role = Role(role)
    if role not in GRANTABLE_ROLES:
        raise ValidationError({field: "Ownership moves only by transfer."})
    if RANK[role] > RANK[Role(actor_role)]:
        raise ValidationError({field: "You cannot grant a role above your own."})
    return role


@transaction.atomic
def member_role_change(
    *, membership: Membership, role: str, actor: Actor, actor_role: str, ip: str | None = None
) -> Membership:
    if membership.role == Role.OWNER:
        raise ValidationError({"role": "The owner's role changes only by transferring ownership."})
    new_role = _check_grantable(role, actor_role=actor_role)
    if new_role != membership.role:
        old = membership.role
        membership.role = new_role
        membership.save(update_fields=["role"])
        audit_record(
            workspace=membership.workspace,
            action=AuditAction.MEMBER_ROLE_CHANGED,
            actor=actor,
            target=membership.user,
            ip=ip,
            changes={"role": [old, new_role]},
        )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: Actor, ip: str | None = None) -> None:
    if membership.role == Role.OWNER:
        raise ValidationError({"member": "The owner cannot be removed; transfer ownership first."})
    user = membership.user
    User.objects.filter(pk=user.pk, default_workspace=membership.workspace_id).update(default_workspace=None)
    audit_record(
        workspace=membership.workspace,
        action=AuditAction.MEMBER_REMOVED,
        actor=actor,
        target=user,
        ip=ip,
        changes={"role": [membership.role, None]},
    )
    membership.delete()


@transaction.atomic
def ownership_transfer(*, workspace: Workspace, actor: User, to_user_id: int, ip: str | None = None) -> Membership:
    memberships = Membership.objects.select_for_update().for_workspace(workspace)
    current = memberships.filter(role=Role.OWNER).first()
    if current is None or current.user_id != actor.pk:
        raise ValidationError({"user_id": "Only the owner can transfer ownership."})
    target = memberships.filter(user_id=to_user_id).first()
    if target is None:
        raise ValidationError({"user_id": "The new owner must already be a member of this workspace."})
    if target.pk == current.pk:
        raise ValidationError({"user_id": "You already own this workspace."})
    # Demote first: the one-owner constraint holds at every statement.
    current.role = Role.ADMIN
    current.save(update_fields=["role"])
    old_role = target.role
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    audit_record(
        workspace=workspace,
        action=AuditAction.OWNERSHIP_TRANSFERRED,
        actor=actor,
        target=target.user,
        ip=ip,
        changes={"owner": [actor.email, target.user.email], "previous_role": old_role},
    )
    return target


# --- Invitations --------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, actor: Actor, actor_role: str, ip: str | None = None
) -> tuple[Invitation, str]:
    """Returns the invitation and its token; the token is emailed and never stored in the clear."""
    email = normalize_email(email)
    role = _check_grantable(role, actor_role=actor_role)
    if Membership.objects.for_workspace(workspace).filter(user__email__iexact=email).exists():
        raise ValidationError({"email": "This person is already a member."})
    # Inviting again replaces the open invitation, so the newest link is the one that works.
    Invitation.objects.for_workspace(workspace).filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        invited_by=actor if isinstance(actor, User) else None,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    audit_record(
        workspace=workspace,
        action=AuditAction.INVITATION_CREATED,
        actor=actor,
        target=invitation,
        ip=ip,
        changes={"email": email, "role": role},
    )
    emit(
        workspace=workspace,
        type="invitation.created",
        payload={"invitation_id": invitation.pk, "token": token},
        subject=invitation,
    )
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor, ip: str | None = None) -> Invitation:
    if invitation.status != "pending":
        raise ValidationError({"invitation": f"This invitation is already {invitation.status}."})
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        workspace=invitation.workspace, action=AuditAction.INVITATION_REVOKED, actor=actor, target=invitation, ip=ip
    )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip: str | None = None) -> Membership:
    invitation = (
        Invitation.objects.select_for_update().select_related("workspace").filter(token_hash=hash_secret(token)).first()
    )
    if invitation is None:
        raise ValidationError({"token": "This invitation link is not valid."})
    if invitation.status != "pending":
        raise ValidationError({"token": f"This invitation is {invitation.status}."})
    if normalize_email(invitation.email) != normalize_email(user.email):
        raise ValidationError({"token": "This invitation was sent to a different email address."})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership, created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    if created:
        audit_record(
            workspace=invitation.workspace,
            action=AuditAction.MEMBER_ADDED,
            actor=user,
            target=user,
            ip=ip,
            changes={"role": [None, invitation.role], "invitation": invitation.pk},
        )
    audit_record(
        workspace=invitation.workspace, action=AuditAction.INVITATION_ACCEPTED, actor=user, target=invitation, ip=ip
    )
    user_default_workspace_set(user=user, workspace=invitation.workspace, replace=False)
    return membership


# --- API keys -----------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(
    *, workspace: Workspace, name: str, role: str, actor: Actor, actor_role: str, ip: str | None = None
) -> tuple[ApiKey, str]:
    """Returns the key row and the key itself, which is shown once and stored only as a hash."""
    if not name.strip():
        raise ValidationError({"name": "Give the key a name, so you know what uses it."})
    role = _check_grantable(role, actor_role=actor_role)
    prefix, key = generate_api_key()
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name.strip(),
        prefix=prefix,
        key_hash=hash_secret(key),
        role=role,
        created_by=actor if isinstance(actor, User) else None,
    )
    audit_record(
        workspace=workspace,
        action=AuditAction.API_KEY_CREATED,
        actor=actor,
        target=api_key,
        ip=ip,
        changes={"role": role, "prefix": prefix},
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor, ip: str | None = None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            workspace=api_key.workspace, action=AuditAction.API_KEY_REVOKED, actor=actor, target=api_key, ip=ip
        )
    return api_key


def user_default_workspace_set(*, user: User, workspace: Workspace, replace: bool = True) -> User:
    """The workspace the dashboard and the API open in when none is named. With replace=False, only
    a user who has none yet gets this one (a first workspace, a first accepted invitation)."""
    if user.default_workspace_id is not None and not replace:
        return user
    if user.default_workspace_id != workspace.pk:
        user.default_workspace = workspace
        user.save(update_fields=["default_workspace"])
    return user
