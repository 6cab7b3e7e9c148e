"""A campaign's report: key figures, opens and clicks over time, top links, bounces and complaints,
and the A/B test's result; with the live progress card while it sends."""

from urllib.parse import urlsplit

from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET

from accounts.roles import Perm
from accounts.views import dashboard_view
from campaigns import selectors
from campaigns.models import CampaignStatus
from campaigns.views import render_email_page
from campaigns.views.campaigns import campaign_or_404, progress_context

#: Bounced and complained messages listed on the report.
PROBLEMS_SHOWN = 50


def _chart(timeline: list[dict]) -> dict:
    """The timeline as the chart's labels and series, labelled in the workspace's time zone."""
    labels = []
    for entry in timeline:
        at = timezone.localtime(entry["at"])
        labels.append(dateformat.format(at, "j M, H:00" if entry["period"] == "hour" else "j M"))
    return {
        "labels": labels,
        "opens": [entry["opens"] for entry in timeline],
        "clicks": [entry["clicks"] for entry in timeline],
    }


def _figures(stats: dict) -> list[dict]:
    """The key figures, rates as percentages (the stats hold shares of one)."""
    return [
        {"label": "Sent", "value": stats["sent"], "note": f"of {stats['recipients']:,} recipients", "key": "sent"},
        {"label": "Delivered", "value": stats["delivered"], "key": "delivered"},
        {
            "label": "Unique opens",
            "value": stats["unique_opens"],
            "rate": stats["open_rate"] * 100,
            "rate_label": "open rate",
            "key": "opens",
        },
        {
            "label": "Unique clicks",
            "value": stats["unique_clicks"],
            "rate": stats["click_rate"] * 100,
            "rate_label": "click-through rate",
            "key": "clicks",
        },
        {"label": "Bounces", "value": stats["bounces"], "key": "bounces", "bad": bool(stats["bounces"])},
        {"label": "Complaints", "value": stats["complaints"], "key": "complaints", "bad": bool(stats["complaints"])},
        {
            "label": "Unsubscribes",
            "value": stats["unsubscribes"],
            "rate": stats["unsubscribe_rate"] * 100,
            "rate_label": "of delivered",
            "key": "unsubscribes",
        },
    ]


def _ab_variants(ab: dict | None) -> list[dict]:
    if not ab:
        return []
    return [
        {
            "name": name,
            "subject": figures["subject"],
            "sent": figures["sent"],
            "open_rate": figures["open_rate"] * 100,
            "click_rate": figures["click_rate"] * 100,
            "won": ab["winner"] == name,
        }
        for name, figures in ab["variants"].items()
    ]


def _links(links: list[dict]) -> list[dict]:
    """Each link with its path and host apart: the path tells links of one site apart at a glance."""
    for link in links:
        parts = urlsplit(link["url"])
        link["path"] = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        link["host"] = parts.netloc
    return links


@dashboard_view(Perm.READ)
@require_GET
def campaign_report(request, access, pk: int):
    campaign = campaign_or_404(access, pk)
    stats = selectors.campaign_stats(campaign=campaign)
    _links(stats["links"])
    problems = selectors.campaign_problem_sends(campaign=campaign, limit=PROBLEMS_SHOWN)
    context = {
        "tab": "campaigns",
        "campaign": campaign,
        "stats": stats,
        "figures": _figures(stats),
        "chart": _chart(stats["timeline"]),
        "problems": problems,
        "ab": stats["ab"],
        "ab_variants": _ab_variants(stats["ab"]),
        "show_progress": campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SENT),
        **progress_context(campaign),
    }
    return render_email_page(request, access, "campaigns/report.html", context)
