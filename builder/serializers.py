"""Builder API shapes. Validation of configs, themes and trees lives in the component registry and the
services (one place for the rules); serializers check types and shapes and name the field."""

from django.templatetags.static import static
from rest_framework import serializers

from builder.models import Component, FormSubmission, Page, Revision, Site, Template


class ComponentTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField()
    icon = serializers.CharField()
    is_container = serializers.BooleanField()
    is_form = serializers.BooleanField()
    schema = serializers.JSONField(help_text="JSON Schema of the config; the editor builds its property panel from it.")
    default_config = serializers.JSONField()
    emits = serializers.ListField(child=serializers.CharField(), help_text="Domain events this component can emit.")


# --- Templates ------------------------------------------------------------------------------------------


class TemplateSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Template
        fields = ["id", "slug", "name", "category", "industry", "description", "tags", "thumbnail_url", "page_count"]

    def get_thumbnail_url(self, template: Template) -> str | None:
        return static(template.thumbnail) if template.thumbnail else None


class TemplateDetailSerializer(TemplateSerializer):
    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "theme", "content"]


# --- Sites and pages --------------------------------------------------------------------------------------


class PageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Page
        fields = [
            "id",
            "site",
            "title",
            "path",
            "seo_title",
            "seo_description",
            "og_image",
            "order",
            "is_home",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SiteSerializer(serializers.ModelSerializer):
    template = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    pages = PageSerializer(many=True, read_only=True)
    turnstile_enabled = serializers.BooleanField(read_only=True)

    class Meta:
        model = Site
        fields = [
            "id",
            "name",
            "slug",
            "template",
            "theme",
            "seo",
            "favicon",
            "turnstile_site_key",
            "turnstile_enabled",
            "version",
            "created_at",
            "updated_at",
            "pages",
        ]
        read_only_fields = fields


class SiteCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    template = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="A template's id or slug; omit for a blank site."
    )


class SiteUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The version you read; a stale one is a 409.")
    name = serializers.CharField(max_length=120, required=False)
    theme = serializers.JSONField(required=False)
    seo = serializers.JSONField(required=False)
    favicon = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    turnstile_site_key = serializers.CharField(max_length=100, required=False, allow_blank=True)
    turnstile_secret_key = serializers.CharField(max_length=100, required=False, allow_blank=True, write_only=True)


class PageCreateSerializer(serializers.Serializer):
    site = serializers.IntegerField(min_value=1)
    title = serializers.CharField(max_length=200)
    path = serializers.CharField(max_length=200)
    seo_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seo_description = serializers.CharField(max_length=400, required=False, allow_blank=True)
    og_image = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class PageUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The version you read; a stale one is a 409.")
    title = serializers.CharField(max_length=200, required=False)
    path = serializers.CharField(max_length=200, required=False)
    seo_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    seo_description = serializers.CharField(max_length=400, required=False, allow_blank=True)
    og_image = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    is_home = serializers.BooleanField(required=False)


class PageReorderSerializer(serializers.Serializer):
    site = serializers.IntegerField(min_value=1)
    pages = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=500)


# --- Components and trees ---------------------------------------------------------------------------------


class ComponentSerializer(serializers.ModelSerializer):
    page_version = serializers.IntegerField(source="page.version", read_only=True)

    class Meta:
        model = Component
        fields = [
            "id",
            "page",
            "parent",
            "type",
            "config",
            "position",
            "version",
            "page_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ComponentCreateSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1)
    type = serializers.CharField(max_length=40)
    config = serializers.JSONField(required=False, help_text="Omit for the type's default config.")
    parent = serializers.UUIDField(required=False, allow_null=True)
    position = serializers.IntegerField(required=False, min_value=0, allow_null=True)


class ComponentUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The version you read; a stale one is a 409.")
    config = serializers.JSONField()


class ComponentMoveSerializer(serializers.Serializer):
    parent = serializers.UUIDField(
        allow_null=True, help_text="A container on the same page, or null for the top level."
    )
    position = serializers.IntegerField(min_value=0)
    version = serializers.IntegerField(min_value=1, required=False)


class TreeNodeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    config = serializers.JSONField()
    version = serializers.IntegerField()
    children = serializers.ListField(child=serializers.JSONField(), help_text="Nodes of this same shape.")


class PageTreeSerializer(serializers.Serializer):
    page = PageSerializer()
    components = TreeNodeSerializer(many=True)
    revision = serializers.IntegerField(allow_null=True, help_text="The revision this save recorded.")


class PageTreeWriteSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The page version you read; a stale one is a 409.")
    components = serializers.ListField(
        child=serializers.JSONField(),
        help_text='Nodes {"id"?, "type", "config", "children"?}; omit id for new components.',
    )


# --- Revisions and submissions -------------------------------------------------------------------------------


class RevisionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = Revision
        fields = ["id", "site", "page", "kind", "label", "restored_from", "created_by", "created_at"]
        read_only_fields = fields


class RevisionDetailSerializer(RevisionSerializer):
    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields


class FormSubmissionSerializer(serializers.ModelSerializer):
    component = serializers.UUIDField(source="component_id", read_only=True, allow_null=True)

    class Meta:
        model = FormSubmission
        fields = [
            "id",
            "site",
            "page",
            "component",
            "form_name",
            "email",
            "data",
            "consent_given",
            "consent_text",
            "page_url",
            "created_at",
        ]
        read_only_fields = fields
