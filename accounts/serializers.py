from rest_framework import serializers

from accounts.models import ApiKey, AuditAction, AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import GRANTABLE_ROLE_CHOICES, Role


class WorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True, help_text="Your role in this workspace.")

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "timezone", "created_at", "role"]
        read_only_fields = ["id", "slug", "created_at", "role"]


class WorkspaceWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    timezone = serializers.CharField(max_length=64, required=False)


class WorkspaceBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    workspace_name = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class RegisterResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    workspace = WorkspaceBriefSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class MeWorkspaceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="workspace.id")
    name = serializers.CharField(source="workspace.name")
    slug = serializers.CharField(source="workspace.slug")
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.ModelSerializer):
    workspaces = MeWorkspaceSerializer(many=True, source="prefetched_memberships")

    class Meta:
        model = User
        fields = ["id", "email", "name", "workspaces"]


class MeUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150, allow_blank=True)


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = fields


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=GRANTABLE_ROLE_CHOICES)


class TransferOwnershipSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = UserSerializer(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=GRANTABLE_ROLE_CHOICES, default=Role.EDITOR)


class InvitationCreatedSerializer(InvitationSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; also sent in the invitation email.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token"]
        read_only_fields = fields


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = UserSerializer(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "is_active", "created_by", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=GRANTABLE_ROLE_CHOICES, default=Role.EDITOR)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once. Send as `Authorization: Bearer <key>`.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    action = serializers.ChoiceField(choices=AuditAction.choices)
    api_key_prefix = serializers.CharField(source="api_key.prefix", default=None, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "action",
            "actor_email",
            "api_key_prefix",
            "target_type",
            "target_id",
            "target_repr",
            "ip",
            "changes",
        ]
        read_only_fields = fields
