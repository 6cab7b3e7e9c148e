"""The domain events accounts emits for other apps."""

WORKSPACE_TIMEZONE_CHANGED = "workspace.timezone_changed"  # {timezone, previous}
