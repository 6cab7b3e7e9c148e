"""Builder API: component types, the template library, sites, pages, component trees, revisions,
previews and form submissions. Thin: validate with a serializer, call a service, serialize."""

from functools import cache

import django_filters
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from builder import services
from builder.components import REGISTRY
from builder.models import Component, FormSubmission, Page, Revision, Site, Template
from builder.rendering import render_page
from builder.selectors import page_tree
from builder.serializers import (
    ComponentCreateSerializer,
    ComponentMoveSerializer,
    ComponentSerializer,
    ComponentTypeSerializer,
    ComponentUpdateSerializer,
    FormSubmissionSerializer,
    PageCreateSerializer,
    PageReorderSerializer,
    PageSerializer,
    PageTreeSerializer,
    PageTreeWriteSerializer,
    PageUpdateSerializer,
    RevisionDetailSerializer,
    RevisionSerializer,
    SiteCreateSerializer,
    SiteSerializer,
    SiteUpdateSerializer,
    TemplateDetailSerializer,
    TemplateSerializer,
)
from core.api.pagination import PageNumberPagination
from core.api.schema import CONFLICT_RESPONSE
from core.api.viewsets import WorkspaceScopedViewSet
from workflows.selectors import component_workflows
from workflows.serializers import ComponentWorkflowSerializer

# The rendered preview may hold a visitor-facing script; sandboxed, it runs in an opaque origin and
# cannot read the dashboard's session or DOM even though it is served from the app's origin.
PREVIEW_CSP = "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox"


#: Actions that take no input (duplicate, restore) accept an empty JSON object.
NO_INPUT = OpenApiTypes.OBJECT


@cache
def component_type_catalog() -> list[dict]:
    return [component_type.describe() for component_type in REGISTRY.values()]


class ComponentTypeListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(operation_id="component_types_list", responses={200: ComponentTypeSerializer(many=True)})
    def get(self, request):
        return Response(component_type_catalog())


class PageIdPagination(PageNumberPagination):
    """Lists filtered by a builder page (`?page=<id>`) number their result pages with `page_number`."""

    page_query_param = "page_number"


def _lookup_in_workspace(queryset, pk, field: str):
    """An id from a request body, resolved inside the workspace; anything else is a 400 naming the field."""
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise ValidationError({field: [f"No {queryset.model._meta.verbose_name} {pk} in this workspace."]}) from None


# --- Templates --------------------------------------------------------------------------------------------


class TemplateFilter(django_filters.FilterSet):
    class Meta:
        model = Template
        fields = ["category", "industry"]


class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """The shared template library: the same for every workspace, read-only."""

    #: Not tenant data: the isolation test checks such routes are read-only instead of workspace-scoped.
    shared_catalog = True
    queryset = Template.objects.all()
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = TemplateFilter
    search_fields = ["name", "description", "industry", "category"]
    ordering_fields = ["order", "name"]

    def get_serializer_class(self):
        return TemplateDetailSerializer if self.action == "retrieve" else TemplateSerializer


# --- Sites ------------------------------------------------------------------------------------------------


class ConflictAwareMixin:
    def conflict_representation(self, instance) -> dict:
        return self.get_serializer_class()(instance, context=self.get_serializer_context()).data


@extend_schema_view(
    create=extend_schema(request=SiteCreateSerializer, responses={201: SiteSerializer}),
    partial_update=extend_schema(request=SiteUpdateSerializer, responses={200: SiteSerializer, 409: CONFLICT_RESPONSE}),
    update=extend_schema(request=SiteUpdateSerializer, responses={200: SiteSerializer, 409: CONFLICT_RESPONSE}),
)
class SiteViewSet(
    ConflictAwareMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    queryset = Site.objects.select_related("template").prefetch_related(
        Prefetch("pages", queryset=Page.objects.order_by("order", "id"))
    )
    serializer_class = SiteSerializer
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def create(self, request):
        serializer = SiteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = None
        if ref := serializer.validated_data.get("template"):
            lookup = {"pk": int(ref)} if ref.isdigit() else {"slug": ref}
            template = Template.objects.filter(**lookup).first()
            if template is None:
                raise ValidationError({"template": [f"No template {ref!r}."]})
        site = services.site_create(
            workspace=self.workspace, name=serializer.validated_data["name"], template=template, actor=request.user
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=site.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        site = self.get_object()
        serializer = SiteUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        site = services.site_update(site=site, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=site.pk)).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        services.site_delete(site=instance)


class RevisionFilter(django_filters.FilterSet):
    page = django_filters.NumberFilter(field_name="page_id", help_text="Only this page's revisions.")

    class Meta:
        model = Revision
        fields = ["page", "kind"]


class RevisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    """A site's revisions, newest first: page revisions at each save and site revisions at each settings change."""

    queryset = Revision.objects.select_related("created_by")
    serializer_class = RevisionSerializer
    pagination_class = PageIdPagination
    filterset_class = RevisionFilter
    ordering_fields = ["id", "created_at"]

    def safely_get_queryset(self, queryset):
        return queryset.filter(site_id=self.site.pk)

    @property
    def site(self) -> Site:
        if not hasattr(self, "_site"):
            self._site = get_object_or_404(Site.objects.for_workspace(self.workspace), pk=self.kwargs["site_pk"])
        return self._site

    def get_serializer_class(self):
        return RevisionDetailSerializer if self.action == "retrieve" else RevisionSerializer

    @extend_schema(request=NO_INPUT, responses={200: RevisionSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, site_pk=None, pk=None):
        revision = services.revision_restore(revision=self.get_object(), actor=request.user)
        return Response(RevisionSerializer(revision).data)


# --- Pages ------------------------------------------------------------------------------------------------


class PageFilter(django_filters.FilterSet):
    site = django_filters.NumberFilter(field_name="site_id")

    class Meta:
        model = Page
        fields = ["site", "is_home"]


def tree_response(page: Page) -> dict:
    latest = Revision.objects.filter(page=page).order_by("-id").values_list("pk", flat=True).first()
    return {"page": PageSerializer(page).data, "components": page_tree(page=page), "revision": latest}


@extend_schema_view(
    create=extend_schema(request=PageCreateSerializer, responses={201: PageSerializer}),
    partial_update=extend_schema(request=PageUpdateSerializer, responses={200: PageSerializer, 409: CONFLICT_RESPONSE}),
    update=extend_schema(request=PageUpdateSerializer, responses={200: PageSerializer, 409: CONFLICT_RESPONSE}),
)
class PageViewSet(
    ConflictAwareMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    queryset = Page.objects.all()
    serializer_class = PageSerializer
    filterset_class = PageFilter
    search_fields = ["title", "path"]
    ordering_fields = ["order", "title", "path", "updated_at"]

    def safely_get_queryset(self, queryset):
        # render_page reads the site; joining it here saves the preview a query.
        return queryset.select_related("site") if self.action == "preview" else queryset

    def conflict_representation(self, instance) -> dict:
        return tree_response(instance) if self.action == "tree" else super().conflict_representation(instance)

    def _site(self, pk) -> Site:
        return _lookup_in_workspace(Site.objects.for_workspace(self.workspace), pk, "site")

    def create(self, request):
        serializer = PageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        site = self._site(data.pop("site"))
        page = services.page_create(site=site, actor=request.user, **data)
        return Response(PageSerializer(page).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        page = self.get_object()
        serializer = PageUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        page = services.page_update(page=page, actor=request.user, **serializer.validated_data)
        return Response(PageSerializer(page).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        services.page_delete(page=instance)

    @extend_schema(request=PageReorderSerializer, responses={200: PageSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def reorder(self, request):
        serializer = PageReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        site = self._site(serializer.validated_data["site"])
        pages = services.pages_reorder(site=site, page_ids=serializer.validated_data["pages"])
        return Response(PageSerializer(pages, many=True).data)

    @extend_schema(
        methods=["GET"], operation_id="pages_tree_retrieve", request=None, responses={200: PageTreeSerializer}
    )
    @extend_schema(
        methods=["PUT"],
        operation_id="pages_tree_update",
        request=PageTreeWriteSerializer,
        responses={200: PageTreeSerializer, 409: CONFLICT_RESPONSE},
        description="Replace the page's whole component tree (the editor's bulk save). Existing ids are kept.",
    )
    @action(detail=True, methods=["get", "put"])
    def tree(self, request, pk=None):
        page = self.get_object()
        if request.method == "PUT":
            serializer = PageTreeWriteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            page = services.page_tree_save(page=page, actor=request.user, **serializer.validated_data)
        return Response(tree_response(page))

    @extend_schema(
        parameters=[OpenApiParameter("mode", str, enum=["preview", "editor"], description="editor: marks components")],
        responses={(200, "text/html"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], renderer_classes=[StaticHTMLRenderer, JSONRenderer])
    def preview(self, request, pk=None):
        """The page rendered as a complete HTML document."""
        mode = request.query_params.get("mode", "preview")
        if mode not in ("preview", "editor"):
            raise ValidationError({"mode": ["Use preview or editor."]})
        page = self.get_object()
        response = HttpResponse(render_page(page, mode=mode), content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = PREVIEW_CSP
        return response


# --- Components ---------------------------------------------------------------------------------------------


class ComponentFilter(django_filters.FilterSet):
    page = django_filters.NumberFilter(field_name="page_id")
    parent = django_filters.UUIDFilter(field_name="parent_id")

    class Meta:
        model = Component
        fields = ["page", "parent", "type"]


@extend_schema_view(
    create=extend_schema(request=ComponentCreateSerializer, responses={201: ComponentSerializer}),
    partial_update=extend_schema(
        request=ComponentUpdateSerializer,
        responses={200: ComponentSerializer, 409: CONFLICT_RESPONSE},
        description="The given top-level config keys replace the stored ones; the result is validated whole.",
    ),
    update=extend_schema(
        request=ComponentUpdateSerializer,
        responses={200: ComponentSerializer, 409: CONFLICT_RESPONSE},
        description="Replaces the whole config; missing keys take the type's defaults.",
    ),
)
class ComponentViewSet(
    ConflictAwareMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceScopedViewSet,
):
    queryset = Component.objects.select_related("page")
    serializer_class = ComponentSerializer
    pagination_class = PageIdPagination
    filterset_class = ComponentFilter
    ordering_fields = ["position", "created_at"]
    ordering = ["page_id", "parent_id", "position"]

    def _parent(self, pk) -> Component | None:
        if pk is None:
            return None
        return _lookup_in_workspace(Component.objects.for_workspace(self.workspace), pk, "parent")

    def create(self, request):
        serializer = ComponentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        page = _lookup_in_workspace(Page.objects.for_workspace(self.workspace), data["page"], "page")
        component = services.component_create(
            page=page,
            type=data["type"],
            config=data.get("config"),
            parent=self._parent(data.get("parent")),
            position=data.get("position"),
            actor=request.user,
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=component.pk)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, pk=None, partial=False):
        component = self.get_object()
        serializer = ComponentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        component = services.component_update(
            component=component, partial=partial, actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=component.pk)).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        services.component_delete(component=instance, actor=self.request.user)

    @extend_schema(request=ComponentMoveSerializer, responses={200: ComponentSerializer, 409: CONFLICT_RESPONSE})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        component = self.get_object()
        serializer = ComponentMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        component = services.component_move(
            component=component,
            parent=self._parent(data["parent"]),
            position=data["position"],
            version=data.get("version"),
            actor=request.user,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=component.pk)).data)

    @extend_schema(request=NO_INPUT, responses={201: ComponentSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        copy = services.component_duplicate(component=self.get_object(), actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=copy.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: ComponentWorkflowSerializer(many=True)},
        description="The workflows a form starts: a form_submitted trigger naming this component or any form, "
        "in the draft or the active version. Empty for components that aren't forms.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def workflows(self, request, pk=None):
        workflows = component_workflows(component=self.get_object())
        return Response(ComponentWorkflowSerializer(workflows, many=True).data)


# --- Form submissions ---------------------------------------------------------------------------------------


class FormSubmissionFilter(django_filters.FilterSet):
    site = django_filters.NumberFilter(field_name="site_id")
    page = django_filters.NumberFilter(field_name="page_id")
    component = django_filters.UUIDFilter(field_name="component_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = FormSubmission
        fields = ["site", "page", "component", "consent_given"]


class FormSubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    """What visitors sent through the workspace's forms, newest first."""

    queryset = FormSubmission.objects.all()
    serializer_class = FormSubmissionSerializer
    pagination_class = PageIdPagination
    filterset_class = FormSubmissionFilter
    search_fields = ["email", "form_name"]
    ordering_fields = ["created_at"]
