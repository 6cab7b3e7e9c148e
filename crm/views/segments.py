"""Segments: the list with each segment's size, and the builder where rule groups are put together.

The builder is a script over the rule catalog (crm.selectors.segments.segment_rule_catalog); as the
marketer edits, it asks the API's preview for the live count. Saving is a plain form post checked
here by the segment services, whose errors name the bad rule by its path (e.g. rules.rules.2.value)
so the builder can show each one next to its rule.
"""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, render_page, require, run_action, search_text
from crm.models import Segment
from crm.selectors.dashboard import form_choices
from crm.selectors.segments import segment_count, segment_rule_catalog
from crm.services.segments import segment_create, segment_delete, segment_update
from crm.views import workspace_object_or_404

EMPTY_RULES = {"match": "all", "rules": []}


def _count_or_none(segment: Segment) -> int | None:
    """The segment's size, or None when its rules no longer hold (e.g. a tag it names was deleted)."""
    try:
        return segment_count(segment=segment)
    except ValidationError:
        return None


@dashboard_view(Perm.READ)
@require_GET
def segment_list(request, access):
    search = search_text(request)
    segments = Segment.objects.for_workspace(access.workspace).select_related("created_by").order_by("name", "id")
    if search:
        segments = segments.filter(Q(name__icontains=search) | Q(description__icontains=search))
    # Sizes load one by one after the page (segment_size): each is a count over every contact.
    context = {"tab": "segments", "segments": paginate(request, segments), "search": search}
    return render_page(request, access, "crm/segments.html", context)


@dashboard_view(Perm.READ)
@require_GET
def segment_size(request, access, pk: int):
    segment = workspace_object_or_404(Segment, access, pk)
    context = {"segment": segment, "size": _count_or_none(segment)}
    return render_page(request, access, "crm/_segment_size.html", context)


def _builder_page(request, access, segment: Segment | None, *, data: dict | None = None, errors: dict | None = None):
    can_write = access.can(Perm.WRITE_CONTENT)
    if data is None:
        data = {
            "name": segment.name if segment else "",
            "description": segment.description if segment else "",
            "rules": segment.rules if segment else EMPTY_RULES,
        }
    builder_config = {
        "workspace": access.workspace.pk,
        "api": "/api/v1/",
        "csrfToken": get_token(request),
        "canWrite": can_write,
        "catalog": segment_rule_catalog(workspace=access.workspace),
        "forms": [{"value": value, "label": label} for value, label in form_choices(workspace=access.workspace)],
        "rules": data["rules"],
        "errors": errors or {},
        "contactUrlPattern": reverse("dashboard:contacts-detail", args=[0]),
    }
    context = {
        "tab": "segments",
        "segment": segment,
        "data": data,
        "errors": errors or {},
        "builder_config": builder_config,
        "count": _count_or_none(segment) if segment else None,
    }
    status = 400 if errors else 200
    return render_page(request, access, "crm/segment_builder.html", context, status=status)


def _posted(request) -> tuple[dict, dict]:
    """The form's name, description and rules, and any error in reading the rules' JSON."""
    data = {"name": request.POST.get("name", ""), "description": request.POST.get("description", "")}
    try:
        data["rules"] = json.loads(request.POST.get("rules", ""))
    except ValueError:
        data["rules"] = EMPTY_RULES
        return data, {"rules": ["The rules could not be read; build them again."]}
    return data, {}


def _save(request, access, segment: Segment | None):
    require(access, Perm.WRITE_CONTENT)
    data, errors = _posted(request)
    if errors:
        return _builder_page(request, access, segment, data=data, errors=errors)
    try:
        if segment is None:
            segment = segment_create(workspace=access.workspace, actor=request.user, **data)
            messages.success(request, f"Segment “{segment.name}” created.")
        else:
            segment = segment_update(segment=segment, **data)
            messages.success(request, f"Segment “{segment.name}” saved.")
    except ValidationError as exc:
        return _builder_page(request, access, segment, data=data, errors=exc.message_dict)
    return redirect("dashboard:contacts-segment", pk=segment.pk)


@dashboard_view(Perm.WRITE_CONTENT)
@require_http_methods(["GET", "POST"])
def segment_new(request, access):
    if request.method == "POST":
        return _save(request, access, None)
    return _builder_page(request, access, None)


@dashboard_view(Perm.READ)
@require_http_methods(["GET", "POST"])
def segment_detail(request, access, pk: int):
    segment = workspace_object_or_404(Segment, access, pk)
    if request.method == "POST":
        return _save(request, access, segment)
    return _builder_page(request, access, segment)


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def segment_remove(request, access, pk: int):
    segment = workspace_object_or_404(Segment, access, pk)
    run_action(request, lambda: segment_delete(segment=segment), f"Segment “{segment.name}” deleted.")
    return redirect("dashboard:contacts-segments")
