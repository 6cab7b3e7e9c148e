"""Reads for the builder's dashboard pages: sites, the template gallery, form submissions.

Every tenant read takes the workspace, so a page can only ever list or find its own workspace's rows.
"""

from collections.abc import Iterator

from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from builder.models import Component, FormSubmission, Page, Site, Template


def site_list(*, workspace, search: str = "") -> QuerySet[Site]:
    """The workspace's sites, most recently edited first, each with `page_count`, `last_edited_at`
    (the site's or any page's latest change), `preview_page_id` (the home page, else the first),
    `submission_count` and its template, whose thumbnail the card shows."""
    first_page = Page.objects.filter(site=OuterRef("pk")).order_by("-is_home", "order", "id").values("pk")[:1]
    # A subquery rather than a second Count() join, which would multiply pages by submissions.
    submissions = (
        FormSubmission.objects.filter(site=OuterRef("pk"))
        .order_by()
        .values("site")
        .annotate(count=Count("pk"))
        .values("count")
    )
    sites = (
        Site.objects.for_workspace(workspace)
        .select_related("template")
        .defer("template__content", "template__theme", "theme", "seo")
        .annotate(
            page_count=Count("pages"),
            last_edited_at=Greatest(F("updated_at"), Coalesce(Max("pages__updated_at"), F("updated_at"))),
            preview_page_id=Subquery(first_page),
            submission_count=Coalesce(Subquery(submissions), 0),
        )
        .order_by("-last_edited_at", "-id")
    )
    if search := search.strip():
        sites = sites.filter(name__icontains=search)
    return sites


def site_get(*, workspace, pk: int) -> Site | None:
    return Site.objects.for_workspace(workspace).filter(pk=pk).first()


def site_pages(*, site: Site) -> QuerySet[Page]:
    return Page.objects.for_workspace(site.workspace_id).filter(site=site).order_by("order", "id")


def template_list(*, category: str = "", industry: str = "", search: str = "") -> QuerySet[Template]:
    templates = Template.objects.all()
    if category:
        templates = templates.filter(category=category)
    if industry:
        templates = templates.filter(industry=industry)
    if search := search.strip():
        templates = templates.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return templates.defer("content", "theme")


def template_facets() -> tuple[list[str], list[str]]:
    """The categories and industries the library has, for the gallery's filters."""
    rows = Template.objects.values_list("category", "industry").distinct()
    categories = sorted({category for category, _ in rows})
    industries = sorted({industry for _, industry in rows})
    return categories, industries


def submission_list(*, workspace, site: Site, form_name: str = "", email: str = "") -> QuerySet[FormSubmission]:
    submissions = FormSubmission.objects.for_workspace(workspace).filter(site=site).select_related("page")
    if form_name:
        submissions = submissions.filter(form_name=form_name)
    if email := email.strip():
        submissions = submissions.filter(email__icontains=email)
    return submissions.order_by("-created_at", "-id")


def submission_form_names(*, workspace, site: Site) -> list[str]:
    names = FormSubmission.objects.for_workspace(workspace).filter(site=site).values_list("form_name", flat=True)
    return sorted(set(names.exclude(form_name="").order_by().distinct()))


def submission_field_names(submissions: QuerySet[FormSubmission]) -> list[str]:
    """Export columns: each form's fields in the form's own order (forms by their first submission),
    then any other answer keys alphabetically (fields since removed from a form). Stored answers can't
    give the order: PostgreSQL's JSON objects keep none."""
    firsts = submissions.order_by().values("component_id").annotate(first=Min("created_at")).order_by("first")
    form_ids = [row["component_id"] for row in firsts if row["component_id"]]
    configs = dict(Component.objects.filter(pk__in=form_ids).values_list("id", "config"))
    ordered: dict[str, None] = {}
    for form_id in form_ids:
        fields = (configs.get(form_id) or {}).get("fields") or []
        ordered.update(dict.fromkeys(field["name"] for field in fields))
    others: set[str] = set()
    for data in submissions.values_list("data", flat=True).iterator(chunk_size=2000):
        if isinstance(data, dict):
            others.update(data)
    return [*ordered, *sorted(others - ordered.keys())]


def submission_rows(submissions: QuerySet[FormSubmission]) -> Iterator[FormSubmission]:
    """The submissions oldest first, streamed in chunks so an export never holds them all in memory."""
    return submissions.select_related("page").order_by("created_at", "id").iterator(chunk_size=2000)
