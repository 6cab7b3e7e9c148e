"""Ready-made workflows a marketer starts from. Each is an ordinary definition (every one passes
definition_clean): an email drip is send → wait for an open (with a timeout) → follow up if it
timed out, and so on. Forms, tags and wording are placeholders to adapt."""

import copy

HELLO = "{{ contact.first_name | default('there') }}"


def _at(x: int, y: int) -> dict:
    return {"x": x, "y": y}


def _email(node_id: str, subject: str, content: str, x: int, y: int, *, kind: str = "marketing", name="") -> dict:
    node = {
        "id": node_id,
        "type": "send_email",
        "config": {"subject": subject, "content": content, "kind": kind},
        "position": _at(x, y),
    }
    if name:
        node["name"] = name
    return node


def _tag(node_id: str, tag: str, x: int, y: int, *, remove=False) -> dict:
    return {"id": node_id, "type": "remove_tag" if remove else "add_tag", "config": {"tag": tag}, "position": _at(x, y)}


def _wait(node_id: str, amount: int, unit: str, x: int, y: int) -> dict:
    return {
        "id": node_id,
        "type": "wait",
        "config": {"mode": "duration", "duration": {"amount": amount, "unit": unit}},
        "position": _at(x, y),
    }


def _wait_for_open(node_id: str, days: int, x: int, y: int, *, event: str = "email_opened") -> dict:
    return {
        "id": node_id,
        "type": "wait_for_event",
        "config": {"event": event, "timeout": {"amount": days, "unit": "days"}},
        "position": _at(x, y),
    }


def _edge(source: str, target: str, port: str | None = None) -> dict:
    edge = {"source": source, "target": target}
    if port:
        edge["port"] = port
    return edge


WELCOME_SERIES = {
    "trigger": {"type": "form_submitted", "config": {"component": ""}, "position": _at(0, 200)},
    "nodes": [
        _tag("tag_new", "new subscriber", 260, 200),
        _email(
            "welcome",
            f"Welcome, {HELLO}!",
            f"<p>Hi {HELLO},</p><p>Thanks for signing up. Here is what to expect from us: one useful email a "
            "week, no noise.</p>",
            520,
            200,
        ),
        _wait_for_open("opened_welcome", 2, 780, 200),
        _email(
            "welcome_again",
            "In case you missed it: welcome!",
            f"<p>Hi {HELLO},</p><p>Just making sure our welcome reached you. Reply any time; a person reads "
            "every answer.</p>",
            1040,
            320,
        ),
        _wait("pause", 3, "days", 1300, 200),
        _email(
            "tips",
            "Three tips to get started",
            f"<p>Hi {HELLO},</p><p>Here are three things our customers do in their first week…</p>",
            1560,
            200,
        ),
    ],
    "edges": [
        _edge("trigger", "tag_new"),
        _edge("tag_new", "welcome"),
        _edge("welcome", "opened_welcome"),
        _edge("opened_welcome", "pause", "event"),
        _edge("opened_welcome", "welcome_again", "timeout"),
        _edge("welcome_again", "pause"),
        _edge("pause", "tips"),
    ],
    "reentry": {"policy": "once"},
}

LEAD_NURTURE = {
    "trigger": {"type": "tag_added", "config": {"tag": "lead"}, "position": _at(0, 200)},
    "nodes": [
        _email(
            "intro",
            "How teams like yours get started",
            f"<p>Hi {HELLO},</p><p>A short story of a team that solved the problem you came to us with.</p>",
            260,
            200,
        ),
        _wait("wait_1", 3, "days", 520, 200),
        _email(
            "case_study",
            "A case study you might like",
            f"<p>Hi {HELLO},</p><p>The numbers behind one customer's first three months.</p>",
            780,
            200,
        ),
        _wait("wait_2", 4, "days", 1040, 200),
        {
            "id": "sales_ready",
            "type": "condition",
            "name": "Score 50 or more?",
            "config": {"rules": {"all": [{"field": "contact.score", "op": "gte", "value": 50}]}},
            "position": _at(1300, 200),
        },
        {
            "id": "tell_sales",
            "type": "notify_team",
            "config": {
                "roles": ["owner", "admin"],
                "members": [],
                "subject": "Sales-ready lead: {{ contact.email }}",
                "message": "{{ contact.name | default(contact.email) }} reached a score of {{ contact.score }}.",
            },
            "position": _at(1560, 100),
        },
        _tag("tag_ready", "sales ready", 1820, 100),
        _email(
            "offer",
            "Want a hand? Book a call",
            f"<p>Hi {HELLO},</p><p>If you'd like us to walk you through it, pick a time that suits you.</p>",
            1560,
            320,
        ),
        {
            "id": "customer",
            "type": "goal",
            "name": "Became a customer",
            "config": {"rules": {"any": [{"op": "has_tag", "value": "customer"}]}},
            "position": _at(2080, 200),
        },
    ],
    "edges": [
        _edge("trigger", "intro"),
        _edge("intro", "wait_1"),
        _edge("wait_1", "case_study"),
        _edge("case_study", "wait_2"),
        _edge("wait_2", "sales_ready"),
        _edge("sales_ready", "tell_sales", "true"),
        _edge("tell_sales", "tag_ready"),
        _edge("sales_ready", "offer", "false"),
        _edge("tag_ready", "customer"),
        _edge("offer", "customer"),
    ],
    "reentry": {"policy": "once"},
}

RE_ENGAGEMENT = {
    "trigger": {"type": "tag_added", "config": {"tag": "inactive"}, "position": _at(0, 200)},
    "nodes": [
        _email(
            "miss_you",
            f"We miss you, {HELLO}",
            f"<p>Hi {HELLO},</p><p>It's been a while. Here is what's new since you last visited…</p>",
            260,
            200,
        ),
        _wait_for_open("opened", 5, 520, 200),
        _tag("untag_inactive", "inactive", 780, 80, remove=True),
        _tag("tag_back", "re-engaged", 1040, 80),
        _email(
            "last_chance",
            "Should we stop writing?",
            f"<p>Hi {HELLO},</p><p>If these emails aren't useful any more, that's fine: click below to keep "
            "hearing from us, or do nothing and we'll write less often.</p>",
            780,
            320,
        ),
        _wait_for_open("clicked", 7, 1040, 320, event="email_clicked"),
        _tag("tag_cold", "unengaged", 1300, 420),
    ],
    "edges": [
        _edge("trigger", "miss_you"),
        _edge("miss_you", "opened"),
        _edge("opened", "untag_inactive", "event"),
        _edge("untag_inactive", "tag_back"),
        _edge("opened", "last_chance", "timeout"),
        _edge("last_chance", "clicked"),
        _edge("clicked", "untag_inactive", "event"),
        _edge("clicked", "tag_cold", "timeout"),
    ],
    "reentry": {"policy": "interval", "days": 90},
}

WEBINAR_REMINDERS = {
    "trigger": {"type": "form_submitted", "config": {"component": ""}, "position": _at(0, 200)},
    "nodes": [
        _tag("registered", "webinar registrant", 260, 200),
        _email(
            "confirm",
            "You're registered",
            f"<p>Hi {HELLO},</p><p>Your seat is saved: Thursday at 16:00. We'll remind you on the day.</p>",
            520,
            200,
            kind="transactional",
        ),
        {
            "id": "on_the_day",
            "type": "wait",
            "name": "Thursday 9:00",
            "config": {"mode": "weekday", "weekdays": ["thu"], "hour": 9, "minute": 0},
            "position": _at(780, 200),
        },
        _email(
            "today",
            "Today at 16:00: see you there",
            f"<p>Hi {HELLO},</p><p>The webinar starts at 16:00 today. Your link: …</p>",
            1040,
            200,
            kind="transactional",
        ),
        _wait("before_start", 6, "hours", 1300, 200),
        _email(
            "starting",
            "Starting in an hour",
            f"<p>Hi {HELLO},</p><p>We go live in an hour. Grab a coffee and join here: …</p>",
            1560,
            200,
            kind="transactional",
        ),
        _wait("next_day", 1, "days", 1820, 200),
        _email(
            "replay",
            "The recording, and the slides",
            f"<p>Hi {HELLO},</p><p>Thanks for registering. Here is the recording in case you missed any of it.</p>",
            2080,
            200,
        ),
    ],
    "edges": [
        _edge("trigger", "registered"),
        _edge("registered", "confirm"),
        _edge("confirm", "on_the_day"),
        _edge("on_the_day", "today"),
        _edge("today", "before_start"),
        _edge("before_start", "starting"),
        _edge("starting", "next_day"),
        _edge("next_day", "replay"),
    ],
    "reentry": {"policy": "always"},
}

ABANDONED_FORM = {
    "trigger": {"type": "form_submitted", "config": {"component": ""}, "position": _at(0, 200)},
    "nodes": [
        _tag("started", "quote started", 260, 200),
        _wait("grace", 1, "days", 520, 200),
        {
            "id": "finished",
            "type": "condition",
            "name": "Quote requested?",
            "config": {"rules": {"any": [{"op": "has_tag", "value": "quote requested"}]}},
            "position": _at(780, 200),
        },
        _email(
            "nudge",
            "Your quote is one step away",
            f"<p>Hi {HELLO},</p><p>You started asking for a quote but didn't finish. It takes two minutes; "
            "pick up where you left off.</p>",
            1040,
            320,
        ),
        _wait("second_grace", 2, "days", 1300, 320),
        {
            "id": "finished_later",
            "type": "condition",
            "name": "Quote requested now?",
            "config": {"rules": {"any": [{"op": "has_tag", "value": "quote requested"}]}},
            "position": _at(1560, 320),
        },
        {
            "id": "call_them",
            "type": "notify_team",
            "config": {
                "roles": ["owner", "admin", "editor"],
                "members": [],
                "subject": "Follow up: {{ contact.email }} didn't finish the quote form",
                "message": "They started on {{ trigger.form_name | default('a form') }} two days ago. A call may help.",
            },
            "position": _at(1820, 420),
        },
        {"id": "done", "type": "exit", "position": _at(1040, 80)},
    ],
    "edges": [
        _edge("trigger", "started"),
        _edge("started", "grace"),
        _edge("grace", "finished"),
        _edge("finished", "done", "true"),
        _edge("finished", "nudge", "false"),
        _edge("nudge", "second_grace"),
        _edge("second_grace", "finished_later"),
        _edge("finished_later", "call_them", "false"),
    ],
    "reentry": {"policy": "interval", "days": 30},
}

WORKFLOW_TEMPLATES: list[dict] = [
    {
        "slug": "welcome-series",
        "name": "Welcome series",
        "description": "Greet new sign-ups, resend if the welcome goes unopened, then share tips three days later.",
        "definition": WELCOME_SERIES,
    },
    {
        "slug": "lead-nurture",
        "name": "Lead nurture",
        "description": "Two helpful emails a few days apart; hand sales-ready leads (score 50+) to the team, "
        "offer a call to the rest. Leaves as soon as the contact becomes a customer.",
        "definition": LEAD_NURTURE,
    },
    {
        "slug": "re-engagement",
        "name": "Re-engagement",
        "description": "Win back contacts tagged inactive: a we-miss-you email, a last chance if unopened, "
        "and a tag for those who stay quiet.",
        "definition": RE_ENGAGEMENT,
    },
    {
        "slug": "webinar-reminders",
        "name": "Webinar reminders",
        "description": "Confirm the registration, remind on the morning and an hour before, send the "
        "recording the next day.",
        "definition": WEBINAR_REMINDERS,
    },
    {
        "slug": "abandoned-form",
        "name": "Abandoned-form follow-up",
        "description": "Someone started (first form) but didn't finish (no 'quote requested' tag a day later): "
        "nudge them, and ask the team to call if they still haven't.",
        "definition": ABANDONED_FORM,
    },
]


def workflow_templates() -> list[dict]:
    """The templates, as copies the caller may change."""
    return copy.deepcopy(WORKFLOW_TEMPLATES)


def workflow_template(slug: str) -> dict | None:
    """The template with this slug (a copy), or None."""
    for template in WORKFLOW_TEMPLATES:
        if template["slug"] == slug:
            return copy.deepcopy(template)
    return None
