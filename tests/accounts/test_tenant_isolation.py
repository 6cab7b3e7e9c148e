"""Tenant isolation, checked on every API route without per-route test code.

The routes under /api/v1/ are read from the URL resolver. Each one served by a view with a
`queryset` gets an object of workspace A from tests/factories.py TENANT_FACTORIES, and is then
attacked by someone from workspace B, once as a member (JWT) and once with an API key: every method
must answer 404 with the error envelope and leave A's data as it was. A new route whose model has
no factory fails here until one is registered.
"""

import re
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.exceptions import NotFound
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import ApiKeyUser
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, Workspace
from accounts.roles import Role
from accounts.selectors import workspace_access_resolve
from core.api.viewsets import WorkspaceScopedViewSet
from tests.factories import TENANT_FACTORIES, WorkspaceFactory

API_PREFIX = "api/v1/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# Named groups of router regexes, `(?P<pk>[^/.]+)`, and path() converters, `<int:pk>`.
_PARAMETER = re.compile(r"\(\?P<(?P<group>\w+)>[^)]*\)|<(?:\w+:)?(?P<converter>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # "api/v1/workspaces/{workspace_pk}/members/{pk}/"
    callback: object

    @property
    def view_class(self):
        return self.callback.cls

    @property
    def model(self):
        return self.view_class.queryset.model

    @property
    def kwargs(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.route)

    @property
    def is_nested(self) -> bool:
        """Under /workspaces/{workspace_pk}/: the URL names the workspace."""
        return "workspace_pk" in self.kwargs

    @property
    def is_detail(self) -> bool:
        return any(name != "workspace_pk" for name in self.kwargs)

    @property
    def is_tenant_model(self) -> bool:
        try:
            self.model._meta.get_field("workspace")
        except FieldDoesNotExist:
            return False
        return True

    @property
    def methods(self) -> list[str]:
        actions = getattr(self.callback, "actions", None)
        if actions:  # a viewset route: the methods its router mapped
            return [method for method in HTTP_METHODS if method in actions]
        return [method for method in HTTP_METHODS if hasattr(self.view_class, method)]

    def url(self, values: dict) -> str:
        url = "/" + self.route.format(**values)
        assert resolve(url).func is self.callback, f"{url} does not resolve back to {self.route}"
        return url


def _piece(pattern) -> str:
    text = str(pattern).removeprefix("^").removesuffix("$")
    return _PARAMETER.sub(lambda m: "{%s}" % (m["group"] or m["converter"]), text)


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _piece(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _piece(entry.pattern), entry.callback


def collect_api_routes() -> list[Route]:
    """Every /api/v1/ route whose view reads a queryset, i.e. serves stored objects."""
    routes = []
    for route, callback in _walk(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None)
        if route.startswith(API_PREFIX) and getattr(view_class, "queryset", None) is not None:
            routes.append(Route(route, callback))
    return routes


ALL_ROUTES = collect_api_routes()
# Shared catalogs (the template library) are the same for every workspace: no tenant data to attack.
# test_shared_catalog_routes_are_read_only_and_hold_no_tenant_rows checks that claim.
CATALOG_ROUTES = [route for route in ALL_ROUTES if getattr(route.view_class, "shared_catalog", False)]
ROUTES = [route for route in ALL_ROUTES if route not in CATALOG_ROUTES]


def _route_values(route: Route, obj, workspace) -> dict:
    values = {}
    for name in route.kwargs:
        if name == "workspace_pk":
            values[name] = workspace.pk
        elif name == "pk":
            values[name] = obj.pk
        elif name.endswith("_pk") and hasattr(obj, f"{name[:-3]}_id"):  # e.g. {site_pk} from page.site_id
            values[name] = getattr(obj, f"{name[:-3]}_id")
        else:
            pytest.fail(f"{route.route}: cannot fill {{{name}}} from {obj!r}; teach _route_values about it")
    return values


def _snapshot(obj, workspace) -> dict:
    """A's object as stored, and how many rows of each tenant model A has."""
    counts = {
        model.__name__: model.objects.filter(workspace=workspace).count()
        for model in TENANT_FACTORIES
        if model is not Workspace
    }
    return {"object": list(type(obj).objects.filter(pk=obj.pk).values()), "counts": counts}


def _ids(response) -> list:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row.get("id") for row in rows]


@pytest.fixture
def tenants(make_member, make_api_key):
    """Workspace A (with its owner), and an attacker: the owner of workspace B, who is not in A."""
    a = make_member(role=Role.OWNER).workspace
    attacker = make_member(role=Role.OWNER)
    member_client = attacker.client
    member_client.force_authenticate(None)
    member_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(attacker.user).access_token}")
    key = make_api_key(workspace=attacker.workspace, role=Role.ADMIN)
    return SimpleNamespace(a=a, attacker=attacker, clients={"member": member_client, "api_key": key.client})


@pytest.mark.django_db
@pytest.mark.parametrize("principal", ["member", "api_key"])
@pytest.mark.parametrize("route", ROUTES, ids=[route.route for route in ROUTES])
def test_other_workspace_gets_404_and_changes_nothing(route, principal, tenants, assert_error):
    factory = TENANT_FACTORIES.get(route.model)
    if factory is None:
        pytest.fail(
            f"Route {route.route} serves {route.model._meta.label}, which has no entry in "
            "tests/factories.py TENANT_FACTORIES: register a factory that builds one in a given workspace."
        )
    a = tenants.a
    obj = factory(a)
    url = route.url(_route_values(route, obj, a))
    client = tenants.clients[principal]
    body = {
        "name": "Hijacked",
        "role": Role.VIEWER,
        "email": "hijack@example.com",
        "timezone": "Europe/Paris",
        "user_id": tenants.attacker.user.pk,
        "token": "hijack",
    }
    before = _snapshot(obj, a)

    if not route.is_tenant_model and not route.is_detail:
        # The list of your own workspaces: A is never in it, whatever X-Workspace says.
        for headers in ({}, {"HTTP_X_WORKSPACE": str(a.pk)}, {"HTTP_X_WORKSPACE": a.slug}):
            response = client.get(url, **headers)
            assert response.status_code == 200, response.content
            assert a.pk not in _ids(response)
            assert tenants.attacker.workspace.pk in _ids(response)  # the list itself works
    else:
        # A nested route, or a workspace's own route, names A in its URL; any other acts in the caller's
        # workspace unless X-Workspace says A.
        names_a = route.is_nested or not route.is_tenant_model
        choices = [{}] if names_a else [{}, {"HTTP_X_WORKSPACE": str(a.pk)}, {"HTTP_X_WORKSPACE": a.slug}]
        for method in route.methods:
            for headers in choices:
                if not route.is_nested and not route.is_detail and not headers:
                    if method == "get":  # the caller's own list: A's object is not in it
                        response = client.get(url)
                        assert response.status_code == 200, response.content
                        assert obj.pk not in _ids(response)
                    continue  # creating in one's own workspace is not an attack on A
                if method in ("get", "delete"):
                    response = getattr(client, method)(url, **headers)
                else:
                    response = getattr(client, method)(url, body, format="json", **headers)
                assert_error(response, 404, code="not_found")

    assert _snapshot(obj, a) == before, f"{principal} of another workspace changed A's data through {route.route}"
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_route_collection_covers_the_workspace_api():
    routes = {route.route for route in ROUTES}
    for expected in [
        "api/v1/workspaces/",
        "api/v1/workspaces/{pk}/",
        "api/v1/workspaces/{pk}/transfer-ownership/",
        "api/v1/workspaces/{workspace_pk}/members/",
        "api/v1/workspaces/{workspace_pk}/members/{pk}/",
        "api/v1/workspaces/{workspace_pk}/invitations/",
        "api/v1/workspaces/{workspace_pk}/invitations/{pk}/",
        "api/v1/workspaces/{workspace_pk}/api-keys/",
        "api/v1/workspaces/{workspace_pk}/api-keys/{pk}/",
        "api/v1/workspaces/{workspace_pk}/audit-log/",
        "api/v1/workspaces/{workspace_pk}/audit-log/{pk}/",
    ]:
        assert expected in routes, f"{expected} missing from {sorted(routes)}"
    # Views that serve no stored objects are not tenant routes.
    assert "api/v1/me/" not in routes
    assert "api/v1/auth/token/" not in routes


def test_shared_catalog_routes_are_read_only_and_hold_no_tenant_rows():
    assert {route.route for route in CATALOG_ROUTES} == {"api/v1/templates/", "api/v1/templates/{pk}/"}
    for route in CATALOG_ROUTES:
        assert route.methods == ["get"], f"{route.route} is a shared catalog but accepts {route.methods}"
        assert not route.is_tenant_model, f"{route.route} is a shared catalog over tenant rows"


def test_route_collection_covers_the_builder_api():
    routes = {route.route for route in ROUTES}
    for expected in [
        "api/v1/sites/",
        "api/v1/sites/{pk}/",
        "api/v1/sites/{site_pk}/revisions/",
        "api/v1/sites/{site_pk}/revisions/{pk}/",
        "api/v1/sites/{site_pk}/revisions/{pk}/restore/",
        "api/v1/pages/",
        "api/v1/pages/{pk}/",
        "api/v1/pages/reorder/",
        "api/v1/pages/{pk}/tree/",
        "api/v1/pages/{pk}/preview/",
        "api/v1/components/",
        "api/v1/components/{pk}/",
        "api/v1/components/{pk}/move/",
        "api/v1/components/{pk}/duplicate/",
        "api/v1/form-submissions/",
        "api/v1/form-submissions/{pk}/",
    ]:
        assert expected in routes, f"{expected} missing from {sorted(routes)}"


def test_route_collection_maps_methods_of_each_route():
    by_route = {route.route: route for route in ROUTES}
    assert by_route["api/v1/workspaces/{workspace_pk}/members/{pk}/"].methods == ["get", "put", "patch", "delete"]
    assert by_route["api/v1/workspaces/{workspace_pk}/invitations/"].methods == ["get", "post"]
    assert by_route["api/v1/workspaces/{pk}/transfer-ownership/"].methods == ["post"]
    assert by_route["api/v1/workspaces/{workspace_pk}/audit-log/{pk}/"].methods == ["get"]


def test_every_route_over_a_tenant_model_is_workspace_scoped():
    for route in ROUTES:
        if route.is_tenant_model:
            assert issubclass(route.view_class, WorkspaceScopedViewSet), (
                f"{route.route} serves {route.model.__name__} without WorkspaceScopedViewSet"
            )


def test_every_tenant_factory_builds_in_the_given_workspace(db):
    workspace = WorkspaceFactory()
    for model, factory in TENANT_FACTORIES.items():
        obj = factory(workspace)
        assert isinstance(obj, model)
        assert (obj if model is Workspace else obj.workspace) == workspace


def test_scoped_viewset_overriding_get_queryset_is_refused_at_class_creation():
    with pytest.raises(ImproperlyConfigured, match="get_queryset"):

        class LeakyViewSet(WorkspaceScopedViewSet):
            queryset = Membership.objects.all()

            def get_queryset(self):
                return Membership.objects.all()


def test_scoped_viewset_over_a_model_without_workspace_is_refused():
    with pytest.raises(ImproperlyConfigured, match="no workspace field"):

        class UnscopedViewSet(WorkspaceScopedViewSet):
            queryset = Workspace.objects.all()


def test_scoped_viewset_narrowing_in_safely_get_queryset_is_accepted():
    class NarrowViewSet(WorkspaceScopedViewSet):
        queryset = Invitation.objects.all()

        def safely_get_queryset(self, queryset):
            return queryset.pending()

    assert NarrowViewSet.queryset.model is Invitation


def test_no_existing_scoped_viewset_overrides_get_queryset():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = [cls for cls in subclasses(WorkspaceScopedViewSet) if not cls.__module__.startswith("tests.")]
    assert {cls.queryset.model for cls in found} >= {Membership, Invitation, ApiKey, AuditEvent}
    for cls in found:
        assert "get_queryset" not in cls.__dict__, cls


# --- Odd workspace references: never a server error, never someone else's workspace ------------


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["99999999999999999999999", "²", "\u0661", "-1", "0", "no-such-workspace"])
def test_unresolvable_workspace_reference_is_not_found(owner, ref):
    with pytest.raises(NotFound):
        workspace_access_resolve(user=owner.user, workspace_ref=ref)


@pytest.mark.django_db
def test_workspace_reference_by_slug_of_a_foreign_workspace_is_not_found(owner):
    other = WorkspaceFactory()
    with pytest.raises(NotFound):
        workspace_access_resolve(user=owner.user, workspace_ref=other.slug)
    with pytest.raises(NotFound):
        workspace_access_resolve(user=owner.user, workspace_ref=str(other.pk))


@pytest.mark.django_db
def test_huge_workspace_id_in_url_is_404_not_500(owner, assert_error):
    response = owner.client.get("/api/v1/workspaces/99999999999999999999999/")
    assert_error(response, 404, code="not_found")
    response = owner.client.get("/api/v1/workspaces/99999999999999999999999/members/")
    assert_error(response, 404, code="not_found")


@pytest.mark.django_db
def test_huge_object_id_in_url_is_404_not_500(owner, assert_error):
    response = owner.client.get(f"/api/v1/workspaces/{owner.workspace.pk}/members/99999999999999999999999/")
    assert_error(response, 404, code="not_found")
    response = owner.client.get(f"/api/v1/workspaces/{owner.workspace.pk}/members/not-a-number/")
    assert_error(response, 404, code="not_found")


@pytest.mark.django_db
def test_workspace_detail_by_foreign_slug_is_404(owner, assert_error):
    other = WorkspaceFactory()
    assert_error(owner.client.get(f"/api/v1/workspaces/{other.slug}/"), 404, code="not_found")
    # The caller's own slug works, so the 404 above is about membership, not the slug form.
    response = owner.client.get(f"/api/v1/workspaces/{owner.workspace.slug}/")
    assert response.status_code == 200
    assert response.json()["id"] == owner.workspace.pk


@pytest.mark.django_db
def test_api_key_cannot_name_another_workspace(make_api_key, assert_error):
    """An API key acts in its own workspace only: naming another one by id or slug is a 404."""
    holder = make_api_key(role=Role.ADMIN)
    other = WorkspaceFactory()
    for ref in (str(other.pk), other.slug, "99999999999999999999999"):
        with pytest.raises(NotFound):
            workspace_access_resolve(user=ApiKeyUser(holder.api_key), workspace_ref=ref)
    assert_error(holder.client.get(f"/api/v1/workspaces/{other.slug}/"), 404, code="not_found")
    assert holder.client.get(f"/api/v1/workspaces/{holder.workspace.slug}/").status_code == 200
