"""Demo data for a newcomer's first look. Safe to run again: it only adds what is missing."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from builder import services as builder_services
from builder.models import Site, Template
from builder.services.library import template_library_load
from campaigns.demo import demo_campaigns_seed
from crm.demo import demo_crm_seed
from workflows.demo import demo_workflows_seed

#: The demo site's template: its home page has a contact form.
DEMO_TEMPLATE = "signal-noise-agency"

TEAM = [
    ("maya@siteflow.local", "Maya Chen", Role.ADMIN),
    ("leo@siteflow.local", "Leo Martin", Role.EDITOR),
    ("sam@siteflow.local", "Sam Okafor", Role.VIEWER),
]


class Command(BaseCommand):
    help = "Create the demo workspace and its users (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow running with DJANGO_ENV=production.")

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("Refusing to seed demo users in production; pass --force if you mean it.")
        demo = self._user(settings.DEMO_EMAIL, "Demo Marketer", staff=True)
        workspace = Workspace.objects.filter(memberships__user=demo, memberships__role=Role.OWNER).first()
        if workspace is None:
            workspace = services.workspace_create(owner=demo, name="Acme Marketing")
        team = [demo]
        for email, name, role in TEAM:
            user = self._user(email, name)
            team.append(user)
            Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": role})
            services.user_default_workspace_set(user=user, workspace=workspace, replace=False)
        loaded = template_library_load()
        self.stdout.write(f"Template library: {loaded}.")
        if not Site.objects.filter(workspace=workspace).exists():
            template = Template.objects.filter(slug=DEMO_TEMPLATE).first() or Template.objects.first()
            builder_services.site_create(workspace=workspace, name=template.name, template=template, actor=demo)
        added = demo_crm_seed(workspace=workspace, actor=demo, team=team)
        self.stdout.write(f"Contacts: {added} added.")
        added = demo_campaigns_seed(workspace=workspace, actor=demo)
        self.stdout.write(f"Campaigns: {added} added.")
        added = demo_workflows_seed(workspace=workspace, actor=demo)
        self.stdout.write(f"Workflows: {added} added.")
        self.stdout.write(f"Demo workspace '{workspace.name}' ready; log in as {settings.DEMO_EMAIL}.")

    def _user(self, email: str, name: str, staff: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, settings.DEMO_PASSWORD, name=name, is_staff=staff, is_superuser=staff
            )
        EmailAddress.objects.get_or_create(user=user, email=email, defaults={"primary": True, "verified": True})
        return user
