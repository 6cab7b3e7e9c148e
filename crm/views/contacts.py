"""The contacts table: search, filters, a segment picker, sortable columns, bulk actions and paging.

The table reads through crm.selectors.contacts.contact_list, the same selector (and the same
ContactFilter parameters) as the API, so a filtered URL here and an API call agree on who matches.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, render_page
from core.csv import CsvResponse
from crm.models import ContactExport, ContactSource, ContactStatus, LifecycleStage, Segment
from crm.segments import rules_q
from crm.selectors import dashboard as selectors
from crm.selectors.contacts import DEFAULT_ORDERING, contact_list
from crm.services.bulk import BULK_MAX, contacts_bulk
from crm.services.exports import SEARCH_PARAM, contact_export_create, contact_export_stream
from crm.views import workspace_object_or_404

#: Sortable columns: heading → the ordering field it sorts by, and which way it sorts first.
SORTABLE = {
    "contact": ("last_name", ""),
    "score": ("score", "-"),
    "last_activity": ("last_activity_at", "-"),
    "created": ("created_at", "-"),
}
_ID_DIGITS = 18  # ids are 64-bit: a longer digit string can't be one
_FILTER_LABELS = {
    "tag": "Tag",
    "stage": "Stage",
    "status": "Status",
    "source": "Source",
    "score_min": "Score at least",
    "score_max": "Score at most",
    "created_after": "Created from",
    "created_before": "Created before",
    "segment": "Segment",
}
_CHOICE_LABELS = {
    "stage": dict(LifecycleStage.choices),
    "status": dict(ContactStatus.choices),
    "source": dict(ContactSource.choices),
}


@dataclass(frozen=True)
class ActiveFilter:
    label: str
    value: str
    #: The list's URL without this one value.
    remove_url: str


@dataclass(frozen=True)
class SortLink:
    url: str
    #: "asc", "desc", or "" when the table is not sorted by this column.
    direction: str


def _row_id(value: str) -> int | None:
    """A row id from a query or form value, or None when it can't be one: ASCII digits only ("²" is
    a digit to isdigit() but not to int()), and few enough of them to fit a 64-bit id."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= _ID_DIGITS else None


def _list_url(query: QueryDict) -> str:
    return reverse("dashboard:contacts") + (f"?{query.urlencode()}" if query else "")


def _without(query: QueryDict, name: str, value: str) -> str:
    query = query.copy()
    query.setlist(name, [item for item in query.getlist(name) if item != value])
    query.pop("page", None)
    return _list_url(query)


class ContactQuery:
    """The table's query string made sense of: the segment, the filters, search and ordering, with
    each bad value dropped (and reported) rather than failing the page."""

    def __init__(self, workspace, params: QueryDict):
        self.workspace = workspace
        self.params = params
        self.errors: list[str] = []
        self.segment = self._segment(params.get("segment", ""))
        self.search = params.get("q", "").strip()
        self.ordering = params.get("ordering", "") or DEFAULT_ORDERING
        # Only the list's own filters: anything else in the URL is ignored, as the API ignores it.
        self.filters = QueryDict(mutable=True)
        for name in _FILTER_LABELS:
            if name != "segment" and params.getlist(name):
                self.filters.setlist(name, params.getlist(name))

    def _segment(self, value: str) -> Segment | None:
        if not value:
            return None
        pk = _row_id(value)
        segment = Segment.objects.for_workspace(self.workspace).filter(pk=pk).first() if pk is not None else None
        if segment is None:
            self.errors.append("That segment no longer exists; showing all contacts.")
        return segment

    def contacts(self):
        """The matching contacts. A value the selector refuses is left out and reported, then the
        list is read again without it (each parameter at most once)."""
        for _ in range(len(self.filters) + 2):
            try:
                contacts = contact_list(
                    workspace=self.workspace, filters=self.filters, search=self.search, ordering=self.ordering
                )
                return self._in_segment(contacts)
            except ValidationError as exc:
                for name, problems in exc.message_dict.items():
                    self.errors.append(f"{_FILTER_LABELS.get(name, name.capitalize())}: {' '.join(problems)}")
                    if name == "search":
                        self.search = ""
                    elif name == "ordering":
                        self.ordering = DEFAULT_ORDERING
                    else:
                        self.filters.pop(name, None)
        raise AssertionError("unreachable: every bad parameter is dropped")  # pragma: no cover

    def _in_segment(self, contacts):
        if self.segment is None:
            return contacts
        try:
            return contacts.filter(rules_q(workspace=self.workspace, rules=self.segment.rules))
        except ValidationError as exc:
            self.errors.append(f"The segment “{self.segment.name}” has a rule to fix: {' '.join(exc.messages)}")
            self.segment = None
            return contacts

    @property
    def filtered(self) -> bool:
        return bool(self.search or self.segment or any(self.filters.getlist(name) for name in self.filters))

    def active_filters(self) -> list[ActiveFilter]:
        active = []
        for name in self.filters:
            for value in self.filters.getlist(name):
                if value:
                    shown = _CHOICE_LABELS.get(name, {}).get(value, value)
                    active.append(
                        ActiveFilter(_FILTER_LABELS.get(name, name), shown, _without(self.params, name, value))
                    )
        if self.segment:
            active.insert(
                0, ActiveFilter("Segment", self.segment.name, _without(self.params, "segment", str(self.segment.pk)))
            )
        return active

    def sort_links(self) -> dict[str, SortLink]:
        current = self.ordering.split(",")[0].strip()
        links = {}
        for column, (field, first) in SORTABLE.items():
            if current.removeprefix("-") == field:
                direction = "desc" if current.startswith("-") else "asc"
                term = field if direction == "desc" else f"-{field}"
            else:
                direction, term = "", f"{first}{field}"
            query = self.params.copy()
            query["ordering"] = term
            query.pop("page", None)
            links[column] = SortLink(_list_url(query), direction)
        return links


@dashboard_view(Perm.READ)
@require_GET
def contact_list_view(request, access):
    workspace = access.workspace
    query = ContactQuery(workspace, request.GET)
    contacts = paginate(request, query.contacts())
    for error in query.errors:
        messages.warning(request, error)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    can_write = access.can(Perm.WRITE_CONTENT)
    context = {
        "tab": "contacts",
        "contacts": contacts,
        "query": query,
        "search": query.search,
        "filtered": query.filtered,
        "active_filters": query.active_filters(),
        "sort": query.sort_links(),
        "segments": Segment.objects.for_workspace(workspace).order_by("name"),
        "segment": query.segment,
        "tags": list(selectors.tag_list(workspace=workspace).values_list("name", flat=True)),
        "stages": LifecycleStage.choices,
        "statuses": ContactStatus.choices,
        "sources": ContactSource.choices,
        "selected": {name: query.filters.getlist(name) for name in ("stage", "status", "source", "tag")},
        "filter_values": {name: query.filters.get(name, "") for name in _FILTER_LABELS},
        "has_contacts": contacts.paginator.count > 0 or selectors.contact_exists(workspace=workspace),
        "query_string": export_query.urlencode(),
        "bulk_max": BULK_MAX,
        "can_bulk": can_write,
    }
    return render_page(request, access, "crm/contacts.html", context)


def _bulk_ids(request, access) -> list[int]:
    """The contacts a bulk action is for: the ticked rows, or everyone the list's query matches
    (segment included, which is why the ids are worked out here rather than by the service)."""
    if request.POST.get("all") == "1":
        query = ContactQuery(access.workspace, QueryDict(request.POST.get("query", "")))
        ids = list(query.contacts().prefetch_related(None).order_by().values_list("pk", flat=True)[: BULK_MAX + 1])
        if len(ids) > BULK_MAX:
            raise ValidationError({"all": [f"More than {BULK_MAX:,} contacts match: narrow the list down first."]})
        return ids
    ids = [_row_id(value) for value in request.POST.getlist("ids")]
    if None in ids:
        raise ValidationError({"ids": ["Pick contacts from the list."]})
    return ids


_DONE = {
    "tag": "Tagged {count} with {tags}.",
    "untag": "Removed {tags} from {count}.",
    "delete": "Deleted {count}.",
}


@dashboard_view(Perm.WRITE_CONTENT)
@require_POST
def contact_bulk(request, access):
    """Tag, untag or delete the selected contacts, then back to the list as it was."""
    back = _list_url(QueryDict(request.POST.get("query", "")))
    action = request.POST.get("action", "")
    names = [name for name in request.POST.get("tags", "").split(",") if name.strip()]
    try:
        ids = _bulk_ids(request, access)
        if not ids:
            raise ValidationError({"ids": ["Select at least one contact first."]})
        count = contacts_bulk(workspace=access.workspace, action=action, ids=ids, names=names, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    counted = f"{count:,} contact{'' if count == 1 else 's'}"
    messages.success(request, _DONE[action].format(count=counted, tags=", ".join(name.strip() for name in names)))
    return redirect(back)


@dashboard_view(Perm.READ)
@require_POST
def contact_export(request, access):
    """Record an export of what the list shows (segment, filters, search), then download it."""
    params = QueryDict(request.POST.get("query", ""))
    query = ContactQuery(access.workspace, params)
    query.contacts()  # drops any value the list itself would refuse, as the list did
    filters = {name: query.filters.getlist(name) for name in query.filters}
    if query.search:
        filters[SEARCH_PARAM] = query.search
    try:
        export = contact_export_create(
            workspace=access.workspace, segment=query.segment, filters=filters, actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_list_url(params))
    return redirect("dashboard:contacts-export-download", pk=export.pk)


@dashboard_view(Perm.READ)
@require_GET
def contact_export_download(request, access, pk: int):
    export = workspace_object_or_404(ContactExport, access, pk, related=("segment",))
    name = slugify(export.segment.name if export.segment else "contacts") or "contacts"
    return CsvResponse(contact_export_stream(export=export), filename=f"{name}-{timezone.localdate():%Y-%m-%d}.csv")
