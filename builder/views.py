"""The builder's dashboard pages: the sites list, the template gallery, the editor and form submissions.

These views only render shells and read lists. Every edit (creating a site, changing a page) is made
by the browser through the builder's API, so the editor and API clients share one write path with
one set of checks. Sites are looked up within the current workspace: another workspace's ids 404.
"""

from datetime import datetime

from django.http import Http404
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import Perm
from accounts.views import dashboard_view, paginate, render_page, search_text
from builder.selectors import dashboard as selectors
from builder.theme import FONT_STACKS, theme_schema
from core.csv import CsvResponse, cell_text, csv_safe

SUMMARY_ANSWERS = 3
SUMMARY_CHARS = 60


def _site_or_404(access, pk: int):
    site = selectors.site_get(workspace=access.workspace, pk=pk)
    if site is None:
        raise Http404("No such site.")
    return site


LABELS = {"saas": "SaaS", "app": "App"}


def _label(value: str) -> str:
    return LABELS.get(value) or value.replace("_", " ").capitalize()


# --- Sites -----------------------------------------------------------------------------------------


@dashboard_view(Perm.READ)
@require_GET
def site_list(request, access):
    search = search_text(request)
    sites = paginate(request, selectors.site_list(workspace=access.workspace, search=search))
    return render_page(request, access, "builder/sites.html", {"sites": sites, "search": search})


@dashboard_view(Perm.WRITE_CONTENT)
@require_GET
def site_new(request, access):
    category = request.GET.get("category", "")
    industry = request.GET.get("industry", "")
    search = search_text(request)
    templates = list(selectors.template_list(category=category, industry=industry, search=search))
    for template in templates:
        template.thumbnail_url = static(template.thumbnail) if template.thumbnail else ""
        template.category_label = _label(template.category)
        template.industry_label = _label(template.industry)
    categories, industries = selectors.template_facets()
    context = {
        "templates": templates,
        "categories": [(value, _label(value)) for value in categories],
        "industries": [(value, _label(value)) for value in industries],
        "category": category,
        "industry": industry,
        "search": search,
        "filtered": bool(category or industry or search),
        "editor_config": {
            "workspace": access.workspace.pk,
            "api": "/api/v1/",
            # The new site's id replaces the 0 once the API has created it.
            "editorUrlPattern": reverse("dashboard:sites-editor", args=[0]),
        },
    }
    return render_page(request, access, "builder/gallery.html", context)


# --- Editor ----------------------------------------------------------------------------------------


@dashboard_view(Perm.READ)
@require_GET
def site_editor(request, access, pk: int, page_id: int | None = None):
    """The editor's shell. Viewers get it read-only: they can browse pages and inspect components,
    but the palette, the toolbar and every input are disabled (the API would refuse them anyway)."""
    site = _site_or_404(access, pk)
    pages = list(selectors.site_pages(site=site))
    if page_id is not None:
        page = next((page for page in pages if page.pk == page_id), None)
        if page is None:
            raise Http404("No such page.")
    else:
        page = next((page for page in pages if page.is_home), pages[0] if pages else None)
    editor_config = {
        "workspace": access.workspace.pk,
        "site": {"id": site.pk, "name": site.name, "version": site.version},
        "page": page.pk if page else None,
        "canWrite": access.can(Perm.WRITE_CONTENT),
        "api": "/api/v1/",
        "csrfToken": get_token(request),
        "editorUrl": reverse("dashboard:sites-editor", args=[site.pk]),
        "submissionsUrl": reverse("dashboard:sites-submissions", args=[site.pk]),
        "themeSchema": theme_schema(),
        "fontStacks": FONT_STACKS,
    }
    context = {"site": site, "pages": pages, "page": page, "editor_config": editor_config}
    return render_page(request, access, "builder/editor.html", context)


# --- Form submissions -------------------------------------------------------------------------------


def _summary(data) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return []
    answers = [(_label(key), cell_text(value)) for key, value in data.items() if key != "email" and cell_text(value)]
    return [(key, value if len(value) <= SUMMARY_CHARS else value[: SUMMARY_CHARS - 1] + "…") for key, value in answers]


@dashboard_view(Perm.READ)
@require_GET
def site_submissions(request, access, pk: int):
    site = _site_or_404(access, pk)
    form_name = request.GET.get("form", "")
    email = request.GET.get("email", "").strip()
    submissions = paginate(
        request, selectors.submission_list(workspace=access.workspace, site=site, form_name=form_name, email=email)
    )
    for submission in submissions:
        answers = _summary(submission.data)
        submission.summary = answers[:SUMMARY_ANSWERS]
        submission.more_answers = len(answers) - len(submission.summary)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    context = {
        "site": site,
        "submissions": submissions,
        "form_names": selectors.submission_form_names(workspace=access.workspace, site=site),
        "form_name": form_name,
        "email": email,
        "filtered": bool(form_name or email),
        "export_query": export_query.urlencode(),
    }
    return render_page(request, access, "builder/submissions.html", context)


@dashboard_view(Perm.READ)
@require_GET
def site_submissions_csv(request, access, pk: int):
    site = _site_or_404(access, pk)
    submissions = selectors.submission_list(
        workspace=access.workspace,
        site=site,
        form_name=request.GET.get("form", ""),
        email=request.GET.get("email", ""),
    )
    fields = selectors.submission_field_names(submissions)
    current_tz = timezone.get_current_timezone()

    def submitted_at(moment: datetime) -> str:
        return timezone.localtime(moment, current_tz).strftime("%Y-%m-%d %H:%M:%S %z")

    def rows():
        yield ["submitted at", "form", "page", "email", "consent", *fields]
        for submission in selectors.submission_rows(submissions):
            data = submission.data if isinstance(submission.data, dict) else {}
            page = submission.page.path if submission.page else ""
            fixed = [submitted_at(submission.created_at), submission.form_name, page, submission.email]
            answers = [data.get(name) for name in fields]
            yield [csv_safe(cell) for cell in [*fixed, submission.consent_given, *answers]]

    filename = f"{site.slug}-submissions-{timezone.localdate():%Y-%m-%d}.csv"
    return CsvResponse(rows(), filename=filename)
