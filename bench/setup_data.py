"""Benchmark fixture: users who each belong to a few workspaces, and a long-lived JWT for each.

Run against the benchmark database (DATABASE_URL points at it); prints one access token per line.
Idempotent: a second run reuses the users and workspaces it finds.

Several users rather than one keep the per-user throttle at its production rate and its history
(DRF keeps one timestamp per request in the window) at a realistic length.
"""

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

USERS = int(os.environ.get("BENCH_USERS", "64"))
WORKSPACES = int(os.environ.get("BENCH_WORKSPACES", "3"))
TOKEN_HOURS = int(os.environ.get("BENCH_TOKEN_HOURS", "6"))


def main() -> None:
    tokens = []
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
    sys.stdout.write("".join(f"{token}\n" for token in tokens))


if __name__ == "__main__":
    main()
