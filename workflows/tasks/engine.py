"""Tasks that run executions, sweep due waits and lapsed leases, and prune old step data."""

from celery import shared_task

from workflows import engine
from workflows.services.executions import executions_state_prune


@shared_task(ignore_result=True, acks_late=True)
def execution_run(execution_id: int) -> None:
    """Run one execution until it finishes or waits (workflows.engine)."""
    engine.execution_run(execution_id=execution_id)


@shared_task(ignore_result=True)
def executions_sweep() -> int:
    """Every WORKFLOW_SWEEP_SECONDS (beat): due waits and lapsed leases go back to the workers."""
    return len(engine.executions_sweep())


@shared_task(ignore_result=True)
def step_runs_prune() -> int:
    """Nightly (beat): step input and output past WORKFLOW_RETENTION_DAYS are dropped, and the step
    outputs finished executions keep in their state."""
    return engine.step_runs_prune() + executions_state_prune()
