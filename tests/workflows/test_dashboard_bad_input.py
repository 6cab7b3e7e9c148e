"""The execution monitor's filters read whatever a browser's address bar may hold without failing:
a date at the calendar's ends, digits that aren't ASCII."""

import pytest
from django.urls import reverse

from tests.factories import ExecutionFactory, WorkflowFactory, WorkflowVersionFactory

EXECUTIONS = reverse("dashboard:workflows-executions")


@pytest.mark.parametrize(
    "query",
    [
        "?to=9999-12-31",
        "?from=0001-01-01",
        "?from=9999-12-31",
        "?to=0001-01-01",
        "?workflow=%C2%B2",
        "?workflow=%D9%A1",
    ],
)
def test_executions_list_ignores_a_filter_out_of_range(editor, query):
    workflow = WorkflowFactory(workspace=editor.workspace)
    execution = ExecutionFactory(version=WorkflowVersionFactory(workflow=workflow))
    response = editor.web.get(EXECUTIONS + query)
    assert response.status_code == 200
    assert [row.pk for row in response.context["executions"]] == [execution.pk]
