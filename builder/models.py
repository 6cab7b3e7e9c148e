"""Sites, pages and their component trees; the template library; revisions; form submissions.

Every tenant row carries its workspace, even where a parent (site, page) already implies it, so each
table is scoped by one indexed filter and no query needs a join to know whose row it reads.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.tenancy import TenantModel, TenantQuerySet


class Template(models.Model):
    """A starting point in the shared library: pages of component trees and a theme. Not a tenant row;
    every workspace reads the same library, loaded from builder/template_library/ by slug."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=40, db_index=True)
    industry = models.CharField(max_length=40, db_index=True)
    description = models.TextField(blank=True)
    thumbnail = models.CharField(max_length=200, blank=True, help_text="Static path of the rendered thumbnail.")
    tags = models.JSONField(default=list, blank=True)
    #: {"pages": [{"title", "path", "is_home", "seo_title", "seo_description", "components": [node…]}]}
    content = models.JSONField(default=dict)
    theme = models.JSONField(default=dict)
    #: sha256 of the source file, so loading again only rewrites what changed.
    source_hash = models.CharField(max_length=64, blank=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def page_count(self) -> int:
        return len(self.content.get("pages", []))


class Site(TenantModel):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: Theme tokens (builder.theme.Theme): colors, fonts, radius, spacing.
    theme = models.JSONField(default=dict)
    favicon = models.CharField(max_length=2000, blank=True)
    #: SEO defaults (builder.theme.SeoDefaults): title suffix, description, Open Graph image.
    seo = models.JSONField(default=dict, blank=True)
    turnstile_site_key = models.CharField(max_length=100, blank=True)
    turnstile_secret_key = models.CharField(max_length=100, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="site_slug_unique_in_workspace")]
        indexes = [models.Index(fields=["workspace", "-updated_at"], name="site_ws_updated")]

    def __str__(self) -> str:
        return self.name

    @property
    def turnstile_enabled(self) -> bool:
        return bool(self.turnstile_site_key and self.turnstile_secret_key)


class Page(TenantModel):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="pages")
    title = models.CharField(max_length=200)
    #: "/" for the home page, else "/pricing", "/about/team".
    path = models.CharField(max_length=200)
    seo_title = models.CharField(max_length=200, blank=True)
    seo_description = models.CharField(max_length=400, blank=True)
    og_image = models.CharField(max_length=2000, blank=True)
    order = models.PositiveIntegerField(default=0)
    is_home = models.BooleanField(default=False)
    #: Bumped by every change to the page or its component tree (optimistic concurrency).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "path"], name="page_path_unique_in_site"),
            models.UniqueConstraint(fields=["site"], condition=Q(is_home=True), name="page_one_home_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.path})"


class Component(TenantModel):
    """One node of a page's tree. Its UUID is public: forms post to /f/<id>/, so ids are not guessable
    and survive a revision restore."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="components")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    type = models.CharField(max_length=40)
    config = models.JSONField(default=dict)
    #: 0-based order among siblings.
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["page_id", "parent_id", "position"]
        indexes = [models.Index(fields=["page", "parent", "position"], name="component_tree_order")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class RevisionKind(models.TextChoices):
    PAGE = "page", "Page"
    SITE = "site", "Site"


class RevisionQuerySet(TenantQuerySet):
    def for_site(self, site) -> "RevisionQuerySet":
        return self.filter(site=site)


class Revision(TenantModel):
    """A snapshot taken at each save: a page's fields and whole tree, or a site's settings and all its
    pages. Restoring one writes the snapshot back (ids included) and records a new revision."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="revisions")
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions")
    kind = models.CharField(max_length=10, choices=RevisionKind.choices)
    label = models.CharField(max_length=200, blank=True)
    snapshot = models.JSONField()
    restored_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["site", "-id"], name="revision_site_recent"),
            models.Index(fields=["page", "-id"], name="revision_page_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} revision {self.pk}: {self.label}"


class FormSubmission(TenantModel):
    """What a visitor sent through a form. Kept when the page or component is later deleted: the
    CRM and the marketer's export must not lose a lead because the page was redesigned.

    The page and component are referenced without a database constraint: a revision restore brings
    a deleted form back under its old id, and its submissions must point at it again.
    """

    site = models.ForeignKey(Site, null=True, on_delete=models.SET_NULL, related_name="submissions")
    page = models.ForeignKey(
        Page, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="submissions"
    )
    component = models.ForeignKey(
        Component, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="submissions"
    )
    #: The form's name at submission time (its heading), for lists and exports after it changes.
    form_name = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    consent_given = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    page_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "site", "-created_at"], name="submission_site_recent")]

    def __str__(self) -> str:
        return f"{self.form_name or 'Form'} · {self.email or 'no email'}"
