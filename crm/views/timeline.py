"""How each kind of activity reads on a contact's timeline: an icon, a tone and one line of detail."""

from dataclasses import dataclass

from crm.models import ActivityKind, ContactActivity, ContactSource, ScoreReason

DETAIL_CHARS = 160

#: kind → (icon, tone). Tones colour the icon's bubble: what the contact did stands out from
#: bookkeeping (tags, field changes) and from trouble (bounces, withdrawals).
_LOOK = {
    ActivityKind.CONTACT_CREATED: ("user-plus", "brand"),
    ActivityKind.FORM_SUBMITTED: ("inbox", "brand"),
    ActivityKind.PAGE_VISITED: ("eye", "info"),
    ActivityKind.EMAIL_SENT: ("send", "muted"),
    ActivityKind.EMAIL_OPENED: ("mail", "info"),
    ActivityKind.EMAIL_CLICKED: ("cursor", "success"),
    ActivityKind.EMAIL_BOUNCED: ("warning", "danger"),
    ActivityKind.TAG_ADDED: ("tag", "muted"),
    ActivityKind.TAG_REMOVED: ("tag", "muted"),
    ActivityKind.FIELD_CHANGED: ("edit", "muted"),
    ActivityKind.SCORE_CHANGED: ("trending", "warning"),
    ActivityKind.NOTE: ("note", "brand"),
    ActivityKind.WORKFLOW_ENTERED: ("workflows", "info"),
    ActivityKind.WORKFLOW_EXITED: ("workflows", "muted"),
    ActivityKind.CONSENT_GIVEN: ("shield", "success"),
    ActivityKind.CONSENT_WITHDRAWN: ("shield", "danger"),
    ActivityKind.UNSUBSCRIBED: ("mail-off", "danger"),
    ActivityKind.IMPORTED: ("upload", "muted"),
}

_SCORE_REASONS = {
    ScoreReason.DECAY: "No activity for a while",
    ScoreReason.MANUAL: "Changed by hand",
}
_CREATED_FROM = {
    ContactSource.FORM: "From a form submission",
    ContactSource.IMPORT: "From a CSV import",
    ContactSource.API: "Through the API",
    ContactSource.MANUAL: "Added by hand",
    ContactSource.WORKFLOW: "By a workflow",
}


@dataclass(frozen=True)
class TimelineEntry:
    activity: ContactActivity
    icon: str
    tone: str
    title: str
    detail: str
    #: A note's whole text, shown as a block rather than one clipped line.
    body: str = ""


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def _value(value) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _detail(activity: ContactActivity) -> str:
    data = activity.data if isinstance(activity.data, dict) else {}
    match activity.kind:
        case ActivityKind.CONTACT_CREATED:
            return _CREATED_FROM.get(data.get("source"), "")
        case ActivityKind.FORM_SUBMITTED:
            answers = data.get("answers") if isinstance(data.get("answers"), dict) else {}
            summary = ", ".join(f"{key}: {_value(value)}" for key, value in answers.items() if key != "email")
            name = data.get("form_name") or "A form"
            return f"{name} — {summary}" if summary else name
        case ActivityKind.PAGE_VISITED:
            return data.get("title") or data.get("path") or data.get("url") or ""
        case ActivityKind.EMAIL_SENT | ActivityKind.EMAIL_OPENED | ActivityKind.EMAIL_BOUNCED:
            return data.get("subject") or data.get("campaign") or data.get("reason") or ""
        case ActivityKind.EMAIL_CLICKED:
            parts = [data.get("subject") or data.get("campaign") or "", data.get("url") or ""]
            return " → ".join(part for part in parts if part)
        case ActivityKind.TAG_ADDED | ActivityKind.TAG_REMOVED:
            return data.get("tag", "")
        case ActivityKind.FIELD_CHANGED:
            field = str(data.get("field", activity.ref)).removeprefix("custom_fields.").replace("_", " ")
            return f"{field}: {_value(data.get('from'))} → {_value(data.get('to'))}"
        case ActivityKind.SCORE_CHANGED:
            points = data.get("points")
            if not isinstance(points, int | float):
                return ""
            text = f"{points:+g} points, now {data['score']}" if "score" in data else f"{points:+g} points"
            reason = data.get("rule_name") or _SCORE_REASONS.get(data.get("reason"), "")
            if data.get("note"):
                reason = f"{reason}: {data['note']}" if reason else data["note"]
            return f"{text} · {reason}" if reason else text
        case ActivityKind.WORKFLOW_ENTERED | ActivityKind.WORKFLOW_EXITED:
            return data.get("workflow") or data.get("name") or ""
        case ActivityKind.CONSENT_GIVEN | ActivityKind.CONSENT_WITHDRAWN:
            purpose = str(data.get("purpose", "")).replace("_", " ")
            return f"{purpose}: “{data['text']}”" if data.get("text") else purpose
        case ActivityKind.IMPORTED:
            return data.get("filename") or ""
    return ""


def timeline_entry(activity: ContactActivity) -> TimelineEntry:
    icon, tone = _LOOK.get(activity.kind, ("info", "muted"))
    body = ""
    if activity.kind == ActivityKind.NOTE and isinstance(activity.data, dict):
        body = str(activity.data.get("text", ""))
    return TimelineEntry(
        activity=activity,
        icon=icon,
        tone=tone,
        title=activity.get_kind_display(),
        detail="" if body else _clip(_detail(activity)),
        body=body,
    )
