"""factory_boy factories. TENANT_FACTORIES maps each tenant model to a factory that builds one row
in a given workspace; the tenant-isolation test uses it for every API route."""

import secrets

import factory
from django.utils import timezone

from accounts.authentication import generate_api_key, hash_secret
from accounts.models import ApiKey, AuditAction, AuditEvent, Invitation, Membership, User, Workspace
from accounts.roles import Role
from builder.components import get_type
from builder.models import Component, FormSubmission, Page, Revision, RevisionKind, Site, Template
from campaigns.models import (
    Campaign,
    EmailEngagement,
    EmailSend,
    EngagementKind,
    OptInRequest,
    Sender,
    SenderStatus,
    SendingSettings,
    SendKind,
)
from crm.models import (
    ActivityKind,
    ConsentRecord,
    Contact,
    ContactActivity,
    ContactExport,
    ContactImport,
    ContactImportError,
    ContactTag,
    CustomField,
    CustomFieldType,
    ScoreChange,
    ScoreReason,
    ScoringRule,
    ScoringSettings,
    Segment,
    Tag,
)
from workflows.models import Execution, ExecutionStatus, StepRun, StepStatus, Workflow, WorkflowStatus, WorkflowVersion

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")  # not Faker: a random "Zoe" would match searches
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.EDITOR


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.EDITOR
    token_hash = factory.Sequence(lambda n: hash_secret(f"token-{n}"))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=7))


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """Build with ApiKeyFactory(...); the usable key is on `.key` after creation."""

    class Meta:
        model = ApiKey

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Key {n}")
    role = Role.EDITOR

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        prefix, key = generate_api_key()
        obj = super()._create(model_class, *args, prefix=prefix, key_hash=hash_secret(key), **kwargs)
        obj.key = key
        return obj


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    workspace = factory.SubFactory(WorkspaceFactory)
    action = AuditAction.WORKSPACE_UPDATED
    actor_email = "someone@example.com"


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Template

    slug = factory.Sequence(lambda n: f"template-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    category = "landing_page"
    industry = "saas"
    description = "A landing page for a software product."
    content = factory.LazyFunction(
        lambda: {
            "pages": [
                {
                    "title": "Home",
                    "path": "/",
                    "is_home": True,
                    "components": [
                        {"type": "hero", "config": {"headline": "Ship faster"}},
                        {
                            "type": "section",
                            "config": {"columns": 2},
                            "children": [
                                {"type": "rich_text", "config": {"html": "<p>Left</p>"}},
                                {"type": "contact_form", "config": {}},
                            ],
                        },
                    ],
                },
                {"title": "Pricing", "path": "/pricing", "components": [{"type": "pricing", "config": {}}]},
            ],
            "seo": {"title_suffix": "Acme"},
        }
    )
    theme = factory.LazyFunction(lambda: {"colors": {"primary": "#0f766e"}})


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    slug = factory.Sequence(lambda n: f"site-{n}")


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Page

    site = factory.SubFactory(SiteFactory)
    workspace = factory.SelfAttribute("site.workspace")
    title = factory.Sequence(lambda n: f"Page {n}")
    path = factory.Sequence(lambda n: f"/page-{n}")


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component

    page = factory.SubFactory(PageFactory)
    workspace = factory.SelfAttribute("page.workspace")
    type = "contact_form"
    config = factory.LazyAttribute(lambda obj: get_type(obj.type).default_config())
    position = factory.Sequence(lambda n: n)


class RevisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Revision

    site = factory.SubFactory(SiteFactory)
    workspace = factory.SelfAttribute("site.workspace")
    kind = RevisionKind.SITE
    label = "Saved"
    snapshot = factory.LazyAttribute(
        lambda obj: {"site": {"name": obj.site.name, "theme": {}, "seo": {}, "favicon": ""}, "pages": []}
    )


class FormSubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormSubmission

    component = factory.SubFactory(ComponentFactory)
    workspace = factory.SelfAttribute("component.workspace")
    page = factory.SelfAttribute("component.page")
    site = factory.SelfAttribute("component.page.site")
    form_name = "Get in touch"
    email = factory.Sequence(lambda n: f"visitor{n}@example.com")
    data = factory.LazyAttribute(lambda obj: {"name": "Visitor", "email": obj.email, "message": "Hello"})


def membership_in(workspace: Workspace) -> Membership:
    # A second member, so the owner row is never the object under attack.
    return MembershipFactory(workspace=workspace, role=Role.VIEWER)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    workspace = factory.SubFactory(WorkspaceFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    type = CustomFieldType.TEXT


class ContactActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactActivity

    contact = factory.SubFactory(ContactFactory)
    workspace = factory.SelfAttribute("contact.workspace")
    kind = ActivityKind.NOTE
    data = factory.LazyFunction(lambda: {"text": "Called about the demo."})


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(lambda: {"match": "all", "rules": []})


class ScoringRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoringRule

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    event_type = ActivityKind.FORM_SUBMITTED
    points = 10


class ContactImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactImport

    workspace = factory.SubFactory(WorkspaceFactory)
    filename = "contacts.csv"
    mapping = factory.LazyFunction(lambda: {"Email": "email"})


class ContactExportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactExport

    workspace = factory.SubFactory(WorkspaceFactory)


class SenderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sender

    workspace = factory.SubFactory(WorkspaceFactory)
    from_name = "Northwind News"
    from_email = factory.Sequence(lambda n: f"news{n}@northwind.example")
    status = SenderStatus.VERIFIED
    verified_at = factory.LazyFunction(timezone.now)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    subject = "Hello {{ contact.first_name | default('there') }}"
    sender = factory.LazyAttribute(lambda o: SenderFactory(workspace=o.workspace))
    content = factory.LazyFunction(
        lambda: {"blocks": [{"type": "heading", "text": "Hello"}, {"type": "text", "text": "News from us."}]}
    )


class EmailSendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailSend

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.LazyAttribute(lambda o: ContactFactory(workspace=o.workspace))
    kind = SendKind.TRANSACTIONAL
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")
    token = factory.Sequence(lambda n: f"tok{n:020d}")
    from_email = "Northwind <news@northwind.example>"
    to_email = factory.LazyAttribute(lambda o: o.contact.email if o.contact else "someone@example.com")
    subject = "Hello"
    body = factory.LazyFunction(lambda: {"html": "<p>Hello</p>", "text": "Hello"})


def simple_definition(tag: str = "lead") -> dict:
    """A manual trigger followed by one add_tag step: the smallest workflow that does something."""
    return {
        "trigger": {"type": "manual", "config": {}},
        "nodes": [{"id": "tag", "type": "add_tag", "config": {"tag": tag}, "position": {"x": 300, "y": 100}}],
        "edges": [{"source": "trigger", "target": "tag"}],
    }


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    definition = factory.LazyFunction(simple_definition)
    status = WorkflowStatus.DRAFT


class WorkflowVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowVersion

    workflow = factory.SubFactory(WorkflowFactory)
    workspace = factory.LazyAttribute(lambda o: o.workflow.workspace)
    number = factory.Sequence(lambda n: n + 1)
    definition = factory.LazyAttribute(lambda o: o.workflow.definition)


class ExecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Execution

    version = factory.SubFactory(WorkflowVersionFactory)
    workflow = factory.LazyAttribute(lambda o: o.version.workflow)
    workspace = factory.LazyAttribute(lambda o: o.version.workspace)
    contact = factory.LazyAttribute(lambda o: ContactFactory(workspace=o.workspace))
    status = ExecutionStatus.SUCCEEDED
    trigger_data = factory.LazyFunction(dict)


class StepRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StepRun

    execution = factory.SubFactory(ExecutionFactory)
    workspace = factory.LazyAttribute(lambda o: o.execution.workspace)
    node_id = "tag"
    node_type = "add_tag"
    status = StepStatus.SUCCEEDED
    input = factory.LazyFunction(lambda: {"tag": "lead"})
    output = factory.LazyFunction(lambda: {"tag": "lead"})


TENANT_FACTORIES = {
    Workspace: lambda workspace: workspace,
    Membership: membership_in,
    Invitation: lambda workspace: InvitationFactory(workspace=workspace),
    ApiKey: lambda workspace: ApiKeyFactory(workspace=workspace),
    AuditEvent: lambda workspace: AuditEventFactory(workspace=workspace),
    Site: lambda workspace: SiteFactory(workspace=workspace),
    Page: lambda workspace: PageFactory(site=SiteFactory(workspace=workspace)),
    Component: lambda workspace: ComponentFactory(page=PageFactory(site=SiteFactory(workspace=workspace))),
    Revision: lambda workspace: RevisionFactory(site=SiteFactory(workspace=workspace)),
    FormSubmission: lambda workspace: FormSubmissionFactory(
        component=ComponentFactory(page=PageFactory(site=SiteFactory(workspace=workspace)))
    ),
    Contact: lambda workspace: ContactFactory(workspace=workspace),
    Tag: lambda workspace: TagFactory(workspace=workspace),
    ContactTag: lambda workspace: ContactTag.objects.create(
        workspace=workspace, contact=ContactFactory(workspace=workspace), tag=TagFactory(workspace=workspace)
    ),
    CustomField: lambda workspace: CustomFieldFactory(workspace=workspace),
    ContactActivity: lambda workspace: ContactActivityFactory(contact=ContactFactory(workspace=workspace)),
    ConsentRecord: lambda workspace: ConsentRecord.objects.create(
        workspace=workspace, contact=ContactFactory(workspace=workspace), granted=True, text="Yes, email me."
    ),
    Segment: lambda workspace: SegmentFactory(workspace=workspace),
    ScoringRule: lambda workspace: ScoringRuleFactory(workspace=workspace),
    ScoringSettings: lambda workspace: ScoringSettings.objects.create(workspace=workspace),
    ScoreChange: lambda workspace: ScoreChange.objects.create(
        workspace=workspace, contact=ContactFactory(workspace=workspace), points=5, reason=ScoreReason.MANUAL
    ),
    ContactImport: lambda workspace: ContactImportFactory(workspace=workspace),
    ContactImportError: lambda workspace: ContactImportError.objects.create(
        workspace=workspace,
        contact_import=ContactImportFactory(workspace=workspace),
        row_number=2,
        reason="Bad email.",
    ),
    ContactExport: lambda workspace: ContactExportFactory(workspace=workspace),
    SendingSettings: lambda workspace: SendingSettings.objects.get_or_create(workspace=workspace)[0],
    Sender: lambda workspace: SenderFactory(workspace=workspace),
    Campaign: lambda workspace: CampaignFactory(workspace=workspace),
    EmailSend: lambda workspace: EmailSendFactory(workspace=workspace),
    EmailEngagement: lambda workspace: EmailEngagement.objects.create(
        workspace=workspace, send=EmailSendFactory(workspace=workspace), kind=EngagementKind.OPEN
    ),
    OptInRequest: lambda workspace: OptInRequest.objects.create(
        workspace=workspace, contact=ContactFactory(workspace=workspace), token_hash=secrets.token_hex(32)
    ),
    Workflow: lambda workspace: WorkflowFactory(workspace=workspace),
    WorkflowVersion: lambda workspace: WorkflowVersionFactory(workflow=WorkflowFactory(workspace=workspace)),
    Execution: lambda workspace: ExecutionFactory(
        version=WorkflowVersionFactory(workflow=WorkflowFactory(workspace=workspace))
    ),
    StepRun: lambda workspace: StepRunFactory(
        execution=ExecutionFactory(version=WorkflowVersionFactory(workflow=WorkflowFactory(workspace=workspace)))
    ),
}
