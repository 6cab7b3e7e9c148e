"""What both email benchmarks start from: a workspace of their own, a verified sender and a postal
address, and the facts their reports print. Imported after django.setup()."""

import os

from django.db import connection
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User, Workspace
from campaigns.models import Sender, SenderStatus, SendingSettings


def bench_workspace(*, owner_email: str, owner_name: str, name: str) -> Workspace:
    user = User.objects.filter(email=owner_email).first() or User.objects.create_user(
        owner_email, None, name=owner_name
    )
    workspace = Workspace.objects.filter(memberships__user=user, name=name).first()
    return workspace or account_services.workspace_create(owner=user, name=name)


def bench_sender(workspace: Workspace, **sending_settings) -> Sender:
    """A verified sender, with the workspace's postal address (and any other sending settings) set."""
    SendingSettings.objects.update_or_create(
        workspace=workspace, defaults={"postal_address": "1 Bench Street, Springfield", **sending_settings}
    )
    sender, _ = Sender.objects.get_or_create(
        workspace=workspace,
        from_email="news@bench.example.com",
        defaults={"from_name": "Bench News", "status": SenderStatus.VERIFIED, "verified_at": timezone.now()},
    )
    return sender


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def postgres_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0].split()[0]
