"""Accounts API: auth, the current user, workspaces and their members, invitations, keys, audit log.

Thin views: validate with a serializer, call a service or selector, serialize the result.
"""

import django_filters
from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import selectors, services
from accounts.models import ApiKey, AuditAction, AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import Perm, Role
from accounts.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    AuditEventSerializer,
    InvitationAcceptSerializer,
    InvitationCreatedSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    LogoutSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeSerializer,
    MeUpdateSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    TransferOwnershipSerializer,
    WorkspaceSerializer,
    WorkspaceWriteSerializer,
)
from core.api.throttling import AUTH_THROTTLES
from core.api.viewsets import WorkspaceAccessMixin, WorkspaceScopedViewSet
from core.request_context import client_ip


class IsPerson(permissions.BasePermission):
    """Endpoints about a person (profile, accepting invitations) are not for API keys."""

    message = "This endpoint needs a user session or token, not an API key."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, User)


# --- Auth ---------------------------------------------------------------------------------------


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = AUTH_THROTTLES

    @extend_schema(
        operation_id="auth_register",
        request=RegisterSerializer,
        responses={201: RegisterResponseSerializer},
        summary="Create an account and its first workspace",
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, workspace = services.user_register(**serializer.validated_data, ip=client_ip(request))
        refresh = RefreshToken.for_user(user)
        body = {"user": user, "workspace": workspace, "access": str(refresh.access_token), "refresh": str(refresh)}
        return Response(RegisterResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class TokenObtainView(TokenObtainPairView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(operation_id="auth_token_obtain", summary="Exchange email and password for JWTs")
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        email = request.data.get("email", "")
        services.login_record(
            email=email,
            user=User.objects.filter(email__iexact=email.strip()).first(),
            ip=client_ip(request),
            success=True,
        )
        return response


class TokenRefreshThrottledView(TokenRefreshView):
    throttle_classes = AUTH_THROTTLES

    @extend_schema(operation_id="auth_token_refresh", summary="Rotate a refresh token")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = AUTH_THROTTLES

    @extend_schema(
        operation_id="auth_logout", request=LogoutSerializer, responses={204: None}, summary="Blacklist a refresh token"
    )
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            raise ValidationError({"refresh": [str(exc)]}) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsPerson]

    def _user(self, request) -> User:
        # The authenticator already loaded the user; only the memberships are left to fetch.
        user = request.user
        memberships = Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("workspace").order_by("workspace__name"),
            to_attr="prefetched_memberships",
        )
        prefetch_related_objects([user], memberships)
        return user

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(self._user(request)).data)

    @extend_schema(operation_id="me_update", request=MeUpdateSerializer, responses={200: MeSerializer})
    def patch(self, request):
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request.user.name = serializer.validated_data["name"].strip()
        request.user.save(update_fields=["name"])
        return Response(MeSerializer(self._user(request)).data)


class InvitationAcceptView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsPerson]

    @extend_schema(
        operation_id="invitations_accept",
        request=InvitationAcceptSerializer,
        responses={200: MemberSerializer},
        summary="Join a workspace with an invitation token",
    )
    def post(self, request):
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.invitation_accept(
            token=serializer.validated_data["token"], user=request.user, ip=client_ip(request)
        )
        return Response(MemberSerializer(membership).data)


# --- Workspaces ---------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=WorkspaceWriteSerializer, responses={201: WorkspaceSerializer}),
    update=extend_schema(request=WorkspaceWriteSerializer, responses={200: WorkspaceSerializer}),
    partial_update=extend_schema(request=WorkspaceWriteSerializer, responses={200: WorkspaceSerializer}),
)
class WorkspaceViewSet(
    WorkspaceAccessMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The workspaces you belong to. The detail routes act on the workspace named in the URL."""

    queryset = Workspace.objects.all()
    serializer_class = WorkspaceSerializer
    workspace_url_kwarg = "pk"
    action_permissions = {
        "retrieve": Perm.READ,
        "update": Perm.MANAGE_SETTINGS,
        "partial_update": Perm.MANAGE_SETTINGS,
        "destroy": Perm.DELETE_WORKSPACE,
        "transfer_ownership": Perm.TRANSFER_OWNERSHIP,
    }
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["slug"]

    def required_permission(self) -> Perm | None:
        return self.action_permissions.get(self.action)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Workspace.objects.none()
        return selectors.workspace_list_for(user=self.request.user)

    def get_object(self):
        workspace = self.workspace
        workspace.role = self.workspace_access.role
        return workspace

    def create(self, request):
        if not isinstance(request.user, User):
            raise PermissionDenied("API keys cannot create workspaces.")
        serializer = WorkspaceWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = services.workspace_create(
            owner=request.user, name=data["name"], timezone_name=data.get("timezone", "UTC"), ip=client_ip(request)
        )
        workspace.role = Role.OWNER
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        serializer = WorkspaceWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = services.workspace_update(
            workspace=self.workspace,
            actor=request.user,
            ip=client_ip(request),
            name=data.get("name"),
            timezone_name=data.get("timezone"),
        )
        workspace.role = self.workspace_access.role
        return Response(WorkspaceSerializer(workspace).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def perform_destroy(self, instance):
        services.workspace_delete(workspace=instance, actor=self.request.user, ip=client_ip(self.request))

    @extend_schema(request=TransferOwnershipSerializer, responses={200: MemberSerializer})
    @action(detail=True, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request, pk=None):
        serializer = TransferOwnershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.ownership_transfer(
            workspace=self.workspace,
            actor=request.user,
            to_user_id=serializer.validated_data["user_id"],
            ip=client_ip(request),
        )
        return Response(MemberSerializer(membership).data)


# --- Members, invitations, API keys, audit log --------------------------------------------------


@extend_schema_view(
    update=extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer}),
    partial_update=extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer}),
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WorkspaceScopedViewSet):
    """Members of the workspace. Anyone may leave; admins change roles and remove others."""

    queryset = Membership.objects.all()
    serializer_class = MemberSerializer
    action_permissions = {"update": Perm.MANAGE_MEMBERS, "partial_update": Perm.MANAGE_MEMBERS, "destroy": Perm.READ}
    filterset_fields = ["role"]
    search_fields = ["user__email", "user__name"]
    ordering_fields = ["created_at", "role"]

    def safely_get_queryset(self, queryset):
        return queryset.select_related("user", "workspace")

    def update(self, request, workspace_pk=None, pk=None, partial=False):
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_role_change(
            membership=self.get_object(),
            role=serializer.validated_data["role"],
            actor=request.user,
            actor_role=self.workspace_access.role,
            ip=client_ip(request),
        )
        return Response(MemberSerializer(membership).data)

    def partial_update(self, request, workspace_pk=None, pk=None):
        return self.update(request, workspace_pk=workspace_pk, pk=pk, partial=True)

    def perform_destroy(self, instance):
        leaving = instance.user_id == getattr(self.request.user, "pk", None)
        if not leaving and not self.workspace_access.can(Perm.MANAGE_MEMBERS):
            raise PermissionDenied("Only admins can remove other members.")
        services.member_remove(membership=instance, actor=self.request.user, ip=client_ip(self.request))


@extend_schema_view(
    create=extend_schema(request=InvitationCreateSerializer, responses={201: InvitationCreatedSerializer})
)
class InvitationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    """Invitations to join the workspace. DELETE revokes a pending one."""

    queryset = Invitation.objects.all()
    serializer_class = InvitationSerializer
    action_permissions = dict.fromkeys(["list", "retrieve", "create", "destroy"], Perm.MANAGE_MEMBERS)
    filterset_fields = ["role"]
    search_fields = ["email"]
    ordering_fields = ["created_at", "expires_at"]

    def safely_get_queryset(self, queryset):
        return queryset.select_related("invited_by", "workspace")

    def create(self, request, workspace_pk=None):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(
            workspace=self.workspace,
            actor=request.user,
            actor_role=self.workspace_access.role,
            ip=client_ip(request),
            **serializer.validated_data,
        )
        invitation.token = token
        return Response(InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.invitation_revoke(invitation=instance, actor=self.request.user, ip=client_ip(self.request))


@extend_schema_view(create=extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer}))
class ApiKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    """Workspace API keys. The key is shown once, at creation; DELETE revokes it."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    action_permissions = dict.fromkeys(["list", "retrieve", "create", "destroy"], Perm.MANAGE_API_KEYS)
    filterset_fields = ["role"]
    search_fields = ["name", "prefix"]
    ordering_fields = ["created_at", "last_used_at", "name"]

    def safely_get_queryset(self, queryset):
        return queryset.select_related("created_by", "workspace")

    def create(self, request, workspace_pk=None):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, key = services.api_key_create(
            workspace=self.workspace,
            actor=request.user,
            actor_role=self.workspace_access.role,
            ip=client_ip(request),
            **serializer.validated_data,
        )
        api_key.key = key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.api_key_revoke(api_key=instance, actor=self.request.user, ip=client_ip(self.request))


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.MultipleChoiceFilter(choices=AuditAction.choices)
    actor_email = django_filters.CharFilter(lookup_expr="iexact")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor_email", "target_type", "since", "until"]


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    """The workspace's security log, newest first. Filter by action, actor, target type and time."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    action_permissions = dict.fromkeys(["list", "retrieve"], Perm.READ_AUDIT_LOG)
    filterset_class = AuditEventFilter
    search_fields = ["actor_email", "target_repr"]
    ordering_fields = ["at"]

    def safely_get_queryset(self, queryset):
        return queryset.select_related("api_key")
