"""The demo workspace's CRM: a few hundred contacts with tags, custom fields, three months of activity,
lead scores and two segments, so a newcomer's first look at Contacts shows a working CRM.

Rows are bulk-created rather than run through the services (a few thousand activities would take
seconds each way): the data is shaped like the services' own, and every score is the sum of its
score changes, as the services keep it. Everything is drawn from a seeded random generator, so two
runs produce the same contacts; a run only adds what is missing.
"""

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass, field

import phonenumbers
from django.utils import timezone

from builder.models import Component, Page, Site
from crm.models import (
    ActivityKind,
    ConsentRecord,
    Contact,
    ContactActivity,
    ContactImport,
    ContactSource,
    ContactStatus,
    ContactTag,
    CustomField,
    CustomFieldType,
    JobStatus,
    LifecycleStage,
    ScoreChange,
    ScorePeriod,
    ScoreReason,
    ScoringRule,
    ScoringSettings,
    Segment,
    Tag,
)
from crm.selectors.dashboard import form_components
from crm.services.activities import ENGAGEMENT_KINDS
from crm.services.consent import MARKETING_EMAIL

SEED = 2026
CONTACT_COUNT = 320
ACTIVITY_DAYS = 90

# fmt: off
FIRST_NAMES = (
    "Amelia", "Oliver", "Sofia", "Liam", "Maya", "Noah", "Isabella", "Lucas", "Chloe", "Mateo", "Aisha", "Ethan",
    "Hannah", "Daniel", "Emma", "Leo", "Priya", "Samuel", "Zoe", "Jonas", "Fatima", "Gabriel", "Elena", "Hugo",
    "Ingrid", "Kenji", "Lena", "Marco", "Nadia", "Omar", "Paula", "Rafael", "Sara", "Tomás", "Uma", "Viktor",
    "Wei", "Yara", "Chidi", "Freya", "Arjun", "Beatriz", "Connor", "Dalia", "Emil", "Grace", "Ines", "Jakob",
    "Kofi", "Lucia", "Mei", "Nikolai", "Olivia", "Pedro", "Rosa", "Sven", "Tara", "Yusuf", "Zara", "Aiden",
)
LAST_NAMES = (
    "Smith", "García", "Müller", "Rossi", "Nguyen", "Johansson", "O'Brien", "Kowalski", "Silva", "Dubois",
    "Tanaka", "Patel", "Okafor", "Jensen", "Novak", "Fernández", "Schmidt", "Moreau", "Costa", "Walsh", "Kim",
    "Larsen", "Bianchi", "Hughes", "Ivanova", "Mendes", "Chen", "Brennan", "Haddad", "Lindqvist", "Murphy",
    "Santos", "Fischer", "Laurent", "Ahmed", "Van Dijk", "Kaur", "Taylor", "Romero", "Weber", "Sato", "Nielsen",
    "Ferreira", "Clarke", "Popescu", "Hansen", "Moretti", "Adeyemi", "Bauer", "Lopez",
)
# fmt: on
# (name, domain, size): domains are under .example, which can never receive mail.
COMPANIES = (
    ("Brightpath Analytics", "brightpath.example", 45),
    ("Northwind Logistics", "northwind-logistics.example", 320),
    ("Copperleaf Studio", "copperleaf.example", 12),
    ("Harbor & Pine Legal", "harborpine.example", 28),
    ("Lumen Health", "lumenhealth.example", 150),
    ("Greenway Foods", "greenwayfoods.example", 85),
    ("Atlas Robotics", "atlasrobotics.example", 410),
    ("Bluebird Travel", "bluebirdtravel.example", 60),
    ("Fjord Software", "fjordsoftware.example", 95),
    ("Saffron & Sage", "saffronsage.example", 18),
    ("Meridian Capital", "meridiancap.example", 230),
    ("Kestrel Security", "kestrelsec.example", 140),
    ("Orchard Learning", "orchardlearning.example", 35),
    ("Tidewater Yoga", "tidewateryoga.example", 8),
    ("Quarry Lane Builders", "quarrylane.example", 70),
    ("Polar Labs", "polarlabs.example", 22),
    ("Redwood Realty", "redwoodrealty.example", 40),
    ("Velvet Audio", "velvetaudio.example", 15),
    ("Summit Outdoor", "summitoutdoor.example", 110),
    ("Cobalt Fintech", "cobaltfintech.example", 260),
    ("Mosaic Interiors", "mosaicinteriors.example", 25),
    ("Ember Coffee Roasters", "embercoffee.example", 30),
    ("Lighthouse Clinics", "lighthouseclinics.example", 190),
    ("Pixelforge Games", "pixelforge.example", 55),
    ("Riverstone Insurance", "riverstone.example", 600),
    ("Wildflower Weddings", "wildflowerweddings.example", 6),
    ("Granite Data", "granitedata.example", 80),
    ("Nimbus Cloud", "nimbuscloud.example", 350),
    ("Oakridge Dental", "oakridgedental.example", 20),
    ("Sparrow Kids", "sparrowkids.example", 14),
)
PERSONAL_DOMAIN = "mail.example"
PHONE_REGIONS = ("US", "US", "GB", "GB", "DE", "FR", "ES", "NL", "PT", "IE", "CA", "AU", "SE", "IT")

STAGES = (
    (LifecycleStage.SUBSCRIBER, 40),
    (LifecycleStage.LEAD, 25),
    (LifecycleStage.MQL, 14),
    (LifecycleStage.SQL, 8),
    (LifecycleStage.CUSTOMER, 13),
)
STATUSES = (
    (ContactStatus.ACTIVE, 86),
    (ContactStatus.UNSUBSCRIBED, 7),
    (ContactStatus.BOUNCED, 3),
    (ContactStatus.COMPLAINED, 2),
    # Signed up through a double opt-in form and haven't clicked the link yet.
    (ContactStatus.UNCONFIRMED, 2),
)
SOURCES = (
    (ContactSource.FORM, 45),
    (ContactSource.IMPORT, 25),
    (ContactSource.MANUAL, 12),
    (ContactSource.API, 10),
    (ContactSource.WORKFLOW, 8),
)

TAGS = {
    "newsletter": "#5046e5",
    "webinar-attendee": "#0e9f9e",
    "trial": "#b54708",
    "customer": "#067647",
    "vip": "#b42318",
    "partner": "#175cd3",
    "ebook-download": "#7c3aed",
    "event-lisbon-2026": "#c2410c",
}

PLANS = ("Free", "Starter", "Growth", "Enterprise")
CUSTOM_FIELDS = (
    ("plan", "Plan", CustomFieldType.SELECT, list(PLANS)),
    ("company_size", "Company size", CustomFieldType.NUMBER, []),
    ("trial_ends", "Trial ends", CustomFieldType.DATE, []),
)

CAMPAIGNS = (
    ("spring-newsletter", "Spring newsletter: 5 landing page tests worth running", "/blog/landing-page-tests"),
    ("webinar-invite", "You're invited: paid social that pays back (live, 45 min)", "/webinar"),
    ("case-study-lumen", "How Lumen Health cut cost per lead by 38%", "/case-studies/lumen-health"),
    ("audit-offer", "Your free performance audit is one click away", "/#contact"),
    ("summer-newsletter", "Summer newsletter: attribution without the guesswork", "/blog/attribution"),
    ("pricing-update", "New plans for growing teams", "/pricing"),
)
PAGE_TITLES = {
    "/": "Home",
    "/pricing": "Pricing",
    "/case-studies": "Case studies",
    "/blog/landing-page-tests": "5 landing page tests worth running",
    "/about": "About us",
}
NOTES = (
    "Intro call went well. They run paid search in-house and want a second opinion on attribution.",
    "Asked for a proposal covering Meta and Google Ads; budget around 8k/month.",
    "Met at the Lisbon marketing meetup. Interested in the audit, follow up after their Q3 planning.",
    "Not the decision maker: loops in their head of growth next week.",
    "Wants references from another healthcare client before signing.",
    "Trial going well; they asked about SSO and invoicing in EUR.",
    "Churn risk: reporting dashboard was late twice this month. Schedule a check-in.",
    "Renewed for another year and added two seats.",
)
CONSENT_TEXT = "Yes, send me the Signal & Noise newsletter. I can unsubscribe at any time."
FORM_MESSAGES = (
    "We'd like an audit of our Google Ads account before Q4.",
    "Looking for help with paid social for a product launch in September.",
    "Can you share pricing for a monthly retainer?",
    "Our cost per lead doubled this year. Can you take a look?",
    "Interested in the attribution workshop for our team of six.",
    "",
)

#: (name, event type, points, cap points, cap period): applied to the demo activities as they are made.
SCORING_RULES = (
    ("Submitted a form", ActivityKind.FORM_SUBMITTED, 20, None, ""),
    ("Clicked an email", ActivityKind.EMAIL_CLICKED, 10, 30, ScorePeriod.WEEK),
    ("Visited a page", ActivityKind.PAGE_VISITED, 2, 10, ScorePeriod.DAY),
)
IMPORT_FILENAME = "webinar-attendees.csv"
HOT_LEADS = "Hot leads"
NEWSLETTER_NO_PURCHASE = "Newsletter subscribers without a purchase"


def _weighted(rng: random.Random, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def _phone(rng: random.Random) -> str:
    region = rng.choice(PHONE_REGIONS)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for _ in range(20):
        digits = national[:-4] + f"{rng.randrange(10_000):04d}"
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _ascii(text: str) -> str:
    table = str.maketrans("áàâãäåçéèêëíìîïñóòôõöúùûüýß", "aaaaaaceeeeiiiinooooouuuuys")
    return "".join(ch for ch in text.lower().translate(table) if ch.isalnum())


@dataclass
class _Person:
    contact: Contact
    heat: float
    tags: list[str] = field(default_factory=list)
    activities: list[ContactActivity] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)


def _people(rng: random.Random, workspace, now: datetime.datetime) -> list[_Person]:
    people, emails = [], set()
    for _ in range(CONTACT_COUNT):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company, domain, size = rng.choice(COMPANIES) if rng.random() < 0.8 else ("", PERSONAL_DOMAIN, None)
        local = f"{_ascii(first)}.{_ascii(last)}"
        email, suffix = f"{local}@{domain}", 2
        while email in emails:
            email, suffix = f"{local}{suffix}@{domain}", suffix + 1
        emails.add(email)
        stage = _weighted(rng, STAGES)
        custom = {}
        if company:
            custom["company_size"] = max(1, int(size * rng.uniform(0.7, 1.3)))
        if stage == LifecycleStage.CUSTOMER:
            custom["plan"] = rng.choice(PLANS[1:])
        elif rng.random() < 0.5:
            custom["plan"] = "Free"
        if stage in (LifecycleStage.MQL, LifecycleStage.SQL) and rng.random() < 0.6:
            custom["trial_ends"] = (now + datetime.timedelta(days=rng.randint(-10, 30))).date().isoformat()
        contact = Contact(
            workspace=workspace,
            email=email,
            first_name=first,
            last_name=last,
            phone=_phone(rng) if rng.random() < 0.7 else "",
            company=company,
            custom_fields=custom,
            stage=stage,
            status=_weighted(rng, STATUSES),
            source=_weighted(rng, SOURCES),
            created_at=now - datetime.timedelta(days=rng.uniform(1, 150), minutes=rng.randint(0, 1440)),
        )
        # How engaged they are: customers and late-stage leads lean warm; a few are on fire.
        heat = rng.random() ** 2.4 + {"mql": 0.25, "sql": 0.35, "customer": 0.2}.get(stage, 0)
        people.append(_Person(contact=contact, heat=min(heat, 1.0)))
    return people


def _tags_for(rng: random.Random, person: _Person) -> list[str]:
    contact, tags = person.contact, []
    if contact.status != ContactStatus.UNSUBSCRIBED and rng.random() < 0.55:
        tags.append("newsletter")
    if contact.stage == LifecycleStage.CUSTOMER:
        tags.append("customer")
    if contact.custom_fields.get("trial_ends"):
        tags.append("trial")
    for name, chance in (("webinar-attendee", 0.18), ("ebook-download", 0.15), ("event-lisbon-2026", 0.06)):
        if rng.random() < chance:
            tags.append(name)
    if person.heat > 0.85 and rng.random() < 0.5:
        tags.append("vip")
    if contact.company and rng.random() < 0.03:
        tags.append("partner")
    return tags


class _Activities:
    """Builds one contact's timeline, oldest first."""

    def __init__(self, rng, person: _Person, *, form, pages, tags: dict[str, Tag], team, now):
        self.rng, self.person, self.form, self.pages, self.team, self.now = rng, person, form, pages, team, now
        self.tags = tags

    def add(self, kind, at, *, ref="", data=None, source="", actor=None):
        self.person.activities.append(
            ContactActivity(
                workspace_id=self.person.contact.workspace_id,
                contact=self.person.contact,
                kind=kind,
                ref=str(ref)[:64],
                data=data or {},
                source=source,
                actor=actor,
                at=at,
            )
        )

    def moment(self, start: datetime.datetime) -> datetime.datetime:
        """A random time between `start` and now, weighted towards recent for engaged contacts."""
        span = (self.now - start).total_seconds()
        return start + datetime.timedelta(seconds=span * self.rng.random() ** (1 - 0.6 * self.person.heat))

    def form_submission(self, at):
        contact = self.person.contact
        page = self.form.page if self.form else None
        answers = {"name": contact.name, "email": contact.email, "message": self.rng.choice(FORM_MESSAGES)}
        if contact.company:
            answers["company"] = contact.company
        data = {
            "submission_id": None,
            "form_name": (self.form.config or {}).get("heading", "Contact form") if self.form else "Contact form",
            "form_type": self.form.type if self.form else "contact_form",
            "site_id": page.site_id if page else None,
            "page_id": page.pk if page else None,
            "answers": {key: value for key, value in answers.items() if value},
        }
        self.add(ActivityKind.FORM_SUBMITTED, at, ref=self.form.pk if self.form else "", data=data, source="form")

    def build(self):
        rng, contact = self.rng, self.person.contact
        created = contact.created_at
        self.add(ActivityKind.CONTACT_CREATED, created, data={"source": contact.source}, source=contact.source)
        if contact.source == ContactSource.FORM:
            self.form_submission(created + datetime.timedelta(seconds=1))
        elif contact.source == ContactSource.IMPORT:
            self.add(ActivityKind.IMPORTED, created, data={"filename": IMPORT_FILENAME}, source="import")
        for name in self.person.tags:
            tag = self.tags[name]
            at = created + datetime.timedelta(seconds=2)
            self.add(ActivityKind.TAG_ADDED, at, ref=tag.pk, data={"tag": tag.name}, source=contact.source)
        if "newsletter" in self.person.tags and contact.status != ContactStatus.UNCONFIRMED:
            at = created + datetime.timedelta(seconds=3)
            self.add(ActivityKind.CONSENT_GIVEN, at, ref=MARKETING_EMAIL, data={"purpose": MARKETING_EMAIL})
            self.person.consents.append(self._consent(True, at, CONSENT_TEXT))

        window_start = max(created, self.now - datetime.timedelta(days=ACTIVITY_DAYS))
        heat = self.person.heat
        for _ in range(int(heat * 14 + rng.random() * 3)):
            path = rng.choice(self.pages)
            at = self.moment(window_start)
            self.add(ActivityKind.PAGE_VISITED, at, ref=path, data={"path": path, "title": PAGE_TITLES.get(path, "")})
        sendable = contact.status not in (ContactStatus.BOUNCED, ContactStatus.UNCONFIRMED)
        for slug, subject, url in CAMPAIGNS:
            if not sendable or rng.random() > 0.55:
                continue
            sent = self.moment(window_start)
            self.add(ActivityKind.EMAIL_SENT, sent, ref=slug, data={"subject": subject, "campaign": slug})
            if rng.random() < 0.25 + heat * 0.6:
                opened = sent + datetime.timedelta(minutes=rng.randint(5, 2000))
                if opened < self.now:
                    self.add(ActivityKind.EMAIL_OPENED, opened, ref=slug, data={"subject": subject, "campaign": slug})
                    if rng.random() < heat:
                        clicked = opened + datetime.timedelta(minutes=rng.randint(0, 30))
                        data = {"subject": subject, "campaign": slug, "url": url}
                        self.add(ActivityKind.EMAIL_CLICKED, min(clicked, self.now), ref=slug, data=data)
        if heat > 0.6 and rng.random() < heat:
            self.form_submission(self.moment(window_start))
        if rng.random() < 0.15 + heat * 0.2:
            author = rng.choice(self.team)
            self.add(ActivityKind.NOTE, self.moment(window_start), data={"text": rng.choice(NOTES)}, actor=author)
        if contact.status == ContactStatus.UNSUBSCRIBED:
            at = self.moment(window_start)
            self.add(ActivityKind.UNSUBSCRIBED, at, ref=MARKETING_EMAIL, source="email")
            self.add(ActivityKind.CONSENT_WITHDRAWN, at, ref=MARKETING_EMAIL, data={"purpose": MARKETING_EMAIL})
            self.person.consents.append(self._consent(False, at, ""))
        elif contact.status == ContactStatus.BOUNCED:
            data = {"reason": "Mailbox does not exist (550 5.1.1)"}
            self.add(ActivityKind.EMAIL_BOUNCED, self.moment(window_start), data=data, source="email")
        self.person.activities.sort(key=lambda activity: activity.at)

    def _consent(self, granted: bool, at, text: str) -> ConsentRecord:
        return ConsentRecord(
            workspace_id=self.person.contact.workspace_id,
            contact=self.person.contact,
            purpose=MARKETING_EMAIL,
            granted=granted,
            text=text,
            source="form" if granted else "email",
            at=at,
        )


def _period_start(at: datetime.datetime, period: str):
    day = at.date()
    match period:
        case ScorePeriod.DAY:
            return day
        case ScorePeriod.WEEK:
            return day - datetime.timedelta(days=day.weekday())
        case ScorePeriod.MONTH:
            return day.replace(day=1)
    return None


def _score(person: _Person, rules: list[ScoringRule]) -> list[ScoreChange]:
    """Each rule applied to the contact's activities in order, with its cap, as the scoring service
    does; sets the contact's score to their sum."""
    by_kind = defaultdict(list)
    for rule in rules:
        by_kind[rule.event_type].append(rule)
    earned: dict[tuple, int] = defaultdict(int)
    changes = []
    score = 0
    for activity in person.activities:
        for rule in by_kind.get(activity.kind, ()):
            points = rule.points
            if rule.cap_points is not None:
                bucket = (rule.pk, _period_start(activity.at, rule.cap_period))
                points = min(points, rule.cap_points - earned[bucket])
                if points <= 0:
                    continue
                earned[bucket] += points
            change = ScoreChange(
                workspace_id=activity.workspace_id,
                contact=person.contact,
                points=points,
                reason=ScoreReason.RULE,
                rule=rule,
                rule_name=rule.name,
                activity=activity,
                at=activity.at,
            )
            change.previous, score = score, score + points
            changes.append(change)
    person.contact.score = score
    return changes


def _score_timeline(changes: list[ScoreChange]) -> list[ContactActivity]:
    """The timeline entry the scoring service writes beside each change."""
    return [
        ContactActivity(
            workspace_id=change.workspace_id,
            contact=change.contact,
            kind=ActivityKind.SCORE_CHANGED,
            ref=str(change.rule.pk),
            data={
                "points": change.points,
                "score": change.previous + change.points,
                "previous": change.previous,
                "reason": ScoreReason.RULE,
                "rule_id": change.rule.pk,
                "rule_name": change.rule_name,
                "activity_id": change.activity.pk,
            },
            source="scoring",
            at=change.at,
        )
        for change in changes
    ]


def _setup(workspace) -> tuple[dict[str, Tag], list[ScoringRule]]:
    for order, (key, label, type_, options) in enumerate(CUSTOM_FIELDS):
        CustomField.objects.get_or_create(
            workspace=workspace, key=key, defaults={"label": label, "type": type_, "options": options, "order": order}
        )
    tags = {}
    for name, color in TAGS.items():
        tag = Tag.objects.for_workspace(workspace).filter(name__iexact=name).first()
        tags[name] = tag or Tag.objects.create(workspace=workspace, name=name, color=color)
    rules = []
    for name, kind, points, cap, period in SCORING_RULES:
        rule, _ = ScoringRule.objects.get_or_create(
            workspace=workspace,
            name=name,
            defaults={"event_type": kind, "points": points, "cap_points": cap, "cap_period": period},
        )
        rules.append(rule)
    ScoringSettings.objects.get_or_create(
        workspace=workspace, defaults={"decay_enabled": True, "decay_after_days": 30, "decay_points": 5}
    )
    return tags, rules


def _segments(workspace, tags: dict[str, Tag], actor) -> None:
    segments = {
        HOT_LEADS: (
            "Engaged prospects worth a call this week: a lead score of 50 or more and an email click in "
            "the last 30 days.",
            {
                "match": "all",
                "rules": [
                    {"field": "score", "op": "gte", "value": 50},
                    {"field": "activity", "op": "performed", "value": {"kind": "email_clicked", "within_days": 30}},
                ],
            },
        ),
        NEWSLETTER_NO_PURCHASE: (
            "Everyone on the newsletter who hasn't bought yet: the audience for the next offer.",
            {
                "match": "all",
                "rules": [
                    {"field": "tag", "op": "has", "value": tags["newsletter"].pk},
                    {"field": "stage", "op": "not_in", "value": [LifecycleStage.CUSTOMER]},
                    {"field": "tag", "op": "has_not", "value": tags["customer"].pk},
                ],
            },
        ),
    }
    for name, (description, rules) in segments.items():
        if not Segment.objects.for_workspace(workspace).filter(name__iexact=name).exists():
            Segment.objects.create(
                workspace=workspace, name=name, description=description, rules=rules, created_by=actor
            )


def _site_parts(workspace) -> tuple[Component | None, list[str]]:
    site = Site.objects.for_workspace(workspace).order_by("pk").first()
    if site is None:
        return None, list(PAGE_TITLES)
    form = form_components(workspace=workspace).filter(page__site=site).first()
    paths = list(Page.objects.filter(site=site).values_list("path", flat=True))
    return form, sorted(set(paths) | set(PAGE_TITLES))


def demo_crm_seed(*, workspace, actor, team: list) -> int:
    """Seed the workspace's CRM; returns how many contacts were added (0 when they all exist)."""
    rng = random.Random(SEED)  # noqa: S311 -- demo data wants repeatable draws, not secrecy
    now = timezone.now()
    tags, rules = _setup(workspace)
    _segments(workspace, tags, actor)
    people = _people(rng, workspace, now)
    existing = set(Contact.objects.for_workspace(workspace).values_list("email", flat=True))
    # Every person is drawn (and their activities below) even if they exist, so the random sequence,
    # and with it everyone else's data, stays the same from run to run.
    form, pages = _site_parts(workspace)
    for person in people:
        person.tags = _tags_for(rng, person)
        _Activities(rng, person, form=form, pages=pages, tags=tags, team=team, now=now).build()
    people = [person for person in people if person.contact.email not in existing]
    if not people:
        return 0

    Contact.objects.bulk_create([person.contact for person in people])
    ContactTag.objects.bulk_create(
        ContactTag(workspace=workspace, contact=person.contact, tag=tags[name], added_at=person.contact.created_at)
        for person in people
        for name in person.tags
    )
    ContactActivity.objects.bulk_create(
        [activity for person in people for activity in person.activities], batch_size=1000
    )
    ConsentRecord.objects.bulk_create([consent for person in people for consent in person.consents], batch_size=1000)
    changes = [change for person in people for change in _score(person, rules)]
    ScoreChange.objects.bulk_create(changes, batch_size=1000)
    ContactActivity.objects.bulk_create(_score_timeline(changes), batch_size=1000)
    for person in people:
        engaged = [activity.at for activity in person.activities if activity.kind in ENGAGEMENT_KINDS]
        person.contact.last_activity_at = max(engaged, default=None)
    Contact.objects.bulk_update([person.contact for person in people], ["score", "last_activity_at"], batch_size=500)
    _import_record(workspace, [person for person in people if person.contact.source == ContactSource.IMPORT], actor)
    return len(people)


def _import_record(workspace, imported: list[_Person], actor) -> None:
    """The finished import the imported contacts came from, so the Imports page has its history."""
    if not imported:
        return
    started = min(person.contact.created_at for person in imported)
    record = ContactImport.objects.create(
        workspace=workspace,
        filename=IMPORT_FILENAME,
        mapping={"Email": "email", "First name": "first_name", "Last name": "last_name", "Company": "company"},
        status=JobStatus.DONE,
        total=len(imported),
        processed=len(imported),
        created=len(imported),
        created_by=actor,
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=2),
    )
    ContactImport.objects.filter(pk=record.pk).update(created_at=started)  # auto_now_add set it to now
