from accounts.selectors import user_memberships


def workspace(request) -> dict:
    """The current workspace and the switcher's list, for the dashboard layout."""
    access = getattr(request, "workspace_access", None)
    if access is None or not request.user.is_authenticated:
        return {}
    return {
        "workspace_access": access,
        "current_workspace": access.workspace if access else None,
        "user_memberships": user_memberships(user=request.user),
    }
