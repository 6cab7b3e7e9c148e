"""Benchmark fixture: users who each belong to a few workspaces, and a long-lived JWT for each.

Run against the benchmark database (DATABASE_URL points at it); prints one access token per line.
Idempotent: a second run reuses the users, workspaces and sites it finds.

Several users rather than one keep the per-user throttle at its production rate and its history
(DRF keeps one timestamp per request in the window) at a realistic length.

With `--builder DIR`, each user also gets a site in the workspace their requests resolve to: a
40-component home page and a 100-component long page with a contact form (bench/pages.py). One site
per user rather than one shared site: a single workspace would meet the per-workspace throttle
(6000/min) long before the server's limit. Written to DIR:

- tree_tokens.txt: "<token> <path of the user's 100-component tree>" per user (for bench/auth.lua);
- forms.txt: "<component id> <form token>" per user: the contact forms the form benchmark posts to,
  with render tokens minted now (the server runs with FORM_MIN_SUBMIT_SECONDS=0);
- render.env: RENDER_PAGE_ID, the first user's 40-component page, for bench/render.py.
"""

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts import services  # noqa: E402
from accounts.models import Membership, User  # noqa: E402
from accounts.selectors import workspace_access_resolve  # noqa: E402
from bench import pages as fixture  # noqa: E402
from builder import services as builder_services  # noqa: E402
from builder.form_tokens import form_token  # noqa: E402
from builder.models import Component, Page, Site  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "64"))
WORKSPACES = int(os.environ.get("BENCH_WORKSPACES", "3"))
TOKEN_HOURS = int(os.environ.get("BENCH_TOKEN_HOURS", "6"))

SITE_SLUG = "bench-builder"
HOME_PATH = "/"
LONG_PATH = "/case-studies"


def _tree_in_place(page: Page, tree: list[dict], user) -> Page:
    """Write `tree` unless the page already holds that many components (a previous run's)."""
    if Component.objects.filter(page=page).count() != fixture.count(tree):
        page = builder_services.page_tree_save(
            page=page, version=page.version, components=tree, actor=user, label="Benchmark tree"
        )
    return page


def builder_site(user, workspace) -> tuple[Page, Page]:
    """The user's benchmark site: its 40-component home page and its 100-component long page."""
    site = Site.objects.filter(workspace=workspace, slug=SITE_SLUG).first()
    if site is None:
        site = builder_services.site_create(workspace=workspace, name="Bench builder", actor=user)
        if site.slug != SITE_SLUG:
            Site.objects.filter(pk=site.pk).update(slug=SITE_SLUG)
        site.refresh_from_db()
        site = builder_services.site_update(
            site=site, version=site.version, actor=user, theme=fixture.THEME, seo=fixture.SEO
        )
    home = Page.objects.get(site=site, is_home=True)
    if not home.seo_title:
        home = builder_services.page_update(page=home, version=home.version, actor=user, **fixture.PAGE_SEO)
    long = Page.objects.filter(site=site, path=LONG_PATH).first()
    if long is None:
        long = builder_services.page_create(site=site, title="Case studies", path=LONG_PATH, actor=user)
    for path, title in (("/pricing", "Pricing"), ("/customers", "Customers")):
        if not Page.objects.filter(site=site, path=path).exists():
            builder_services.page_create(site=site, title=title, path=path, actor=user)
    return _tree_in_place(home, fixture.landing_page(), user), _tree_in_place(long, fixture.long_page(), user)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--builder", type=Path, help="also create the builder fixture and write its files here")
    args = parser.parse_args()

    tokens, tree_lines, form_lines, render_page_id = [], [], [], None
    for n in range(1, USERS + 1):
        email = f"bench-{n:03d}@siteflow.local"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, None, name=f"Bench User {n}")
        for w in range(Membership.objects.filter(user=user).count(), WORKSPACES):
            services.workspace_create(owner=user, name=f"Bench {n} Workspace {w + 1}")
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=timedelta(hours=TOKEN_HOURS))
        tokens.append(str(token))
        if args.builder:
            # The workspace a request without X-Workspace resolves to, so the tree URL needs no header.
            user.refresh_from_db()
            workspace = workspace_access_resolve(user=user).workspace
            home, long = builder_site(user, workspace)
            render_page_id = render_page_id or home.pk
            tree_lines.append(f"{token} /api/v1/pages/{long.pk}/tree/\n")
            form = Component.objects.get(page=long, type="contact_form")
            form_lines.append(f"{form.pk} {form_token(form.pk)}\n")
    if args.builder:
        args.builder.mkdir(parents=True, exist_ok=True)
        (args.builder / "tree_tokens.txt").write_text("".join(tree_lines))
        (args.builder / "forms.txt").write_text("".join(form_lines))
        (args.builder / "render.env").write_text(f"RENDER_PAGE_ID={render_page_id}\n")
    sys.stdout.write("".join(f"{token}\n" for token in tokens))


if __name__ == "__main__":
    main()
