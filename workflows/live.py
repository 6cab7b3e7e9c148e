"""Live updates of executions for the dashboard's monitor, over the channel layer."""


def execution_changed(execution, step=None) -> None:
    """Tell the workspace's monitors that `execution` (and `step`, if given) changed. Called after
    commit; never raises."""
