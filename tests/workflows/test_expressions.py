"""Templates in workflow steps: what they see ({contact, trigger, steps.<id>.output, workspace}), and
that every attempt to reach past that data fails as the step's error (or is refused when the
definition is saved), never as a crash and never with access to Python's internals."""

import contextlib

import pytest
from django.core.exceptions import ValidationError

from tests.factories import ContactFactory, ExecutionFactory, WorkspaceFactory
from tests.workflows.steps import run_node, step_context
from workflows.definition import definition_clean
from workflows.nodes.base import StepError

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx():
    workspace = WorkspaceFactory(name="Northwind", timezone="Europe/Paris")
    contact = ContactFactory(
        workspace=workspace,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        custom_fields={"plan": "pro", "items": "three widgets"},
    )
    return step_context(
        workspace,
        contact=contact,
        trigger={"data": {"name": "Ada", "items": ["a", "b"]}, "form_name": "Quote", "secret": {"__class__": "x"}},
        steps={"lookup": {"status": 200, "body": {"plan": "gold"}}},
        node_id="render",
    )


# --- What templates see ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello {{ contact.first_name }}", "Hello Ada"),
        ("{{ contact.name }}", "Ada Lovelace"),
        ("{{ contact.plan }}", "pro"),
        # A custom field named like a dict method is the field, not the method.
        ("{{ contact.items }}", "three widgets"),
        ("{{ trigger.form_name }} / {{ trigger.data.name }}", "Quote / Ada"),
        ("{{ trigger.data.items | length }}", "2"),
        ("{% for item in trigger.data.items %}[{{ item }}]{% endfor %}", "[a][b]"),
        ("{{ steps.lookup.output.body.plan }}", "gold"),
        ("{{ workspace.name }} {{ workspace.timezone }}", "Northwind Europe/Paris"),
        ("{{ contact.nickname | default('friend') }}", "friend"),
        ("{{ contact.missing.deeper }}", ""),
        ("{% if contact.score > 10 %}hot{% else %}cold{% endif %}", "cold"),
        ("{{ contact.email.upper() }}", "ADA@EXAMPLE.COM"),
        ("no template at all {", "no template at all {"),
    ],
)
def test_templates_see_the_steps_data(ctx, source, expected):
    assert ctx.render(source) == expected


def test_html_rendering_escapes_data(ctx):
    ctx.trigger["data"]["name"] = "<script>alert(1)</script>"
    assert "<script>" not in ctx.render("{{ trigger.data.name }}", html=True)
    assert ctx.render("{{ trigger.data.name }}") == "<script>alert(1)</script>"


def test_a_run_without_a_contact_sees_an_empty_contact(ctx):
    ctx.contact = None
    assert ctx.render("Hi {{ contact.first_name | default('there') }}") == "Hi there"


# --- Escape attempts ---------------------------------------------------------------------------------------------

ESCAPES = [
    "{{ contact.__class__ }}",
    "{{ contact['__class__'] }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__self__ }}",
    "{{ range(3).__iter__ }}",
    "{{ trigger.__getitem__('data') }}",
    "{{ trigger.secret.__class__ }}",
    "{{ contact|attr('__class__') }}",
    "{{ (contact.email|string).__class__ }}",
    "{% for x in range(3) %}{{ loop.__class__ }}{% endfor %}",
    "{% set x = contact %}{{ x }}",
    "{% macro m() %}x{% endmacro %}{{ m() }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% extends 'base.html' %}",
    "{% raw %}{{ x }}{% endraw %}{% filter upper %}x{% endfilter %}",
    "{{ trigger|tojson }}",
    "{{ range(10**9)|list }}",
    "{{ config }}{{ request.environ }}{{ settings.SECRET_KEY }}{{ ''.join }}",
    "{{ contact['__cla' ~ 'ss__'] }}",
    "{{ trigger[('_' * 2) ~ 'class' ~ ('_' * 2)] }}",
    "{{ 'a' * 1000000 }}",
    "{{ 9 ** 99999 }}",
    "{{ '%s' % contact }}",
    "{% for i in range(1000000) %}x{% endfor %}",
    "{% for i in range(200) %}{% for j in range(200) %}x{% endfor %}{% endfor %}",
    "{% for i in range(9000) %}{{ 'x' * 100 }}{% endfor %}",
    "{{ contact.email.format(contact) }}{{ contact.email.__len__() }}",
    "{{ contact.email.encode('utf-8').decode }}",
    "{{",
    "{% if %}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_an_escape_attempt_is_the_steps_error_or_renders_harmlessly(ctx, source):
    try:
        output = ctx.render(source)
    except StepError as exc:
        assert str(exc).startswith("Template error")
        return
    assert_harmless(output)


def assert_harmless(output: str) -> None:
    """What renders anyway can only be data: nothing of Python's objects, modules or settings."""
    for leak in ("<class", "<module", "<function", "<built-in", "<bound", "os.", "subprocess", "SECRET", "__"):
        assert leak not in output, output
    assert len(output) <= 500_000


@pytest.mark.parametrize("source", ESCAPES)
def test_an_escape_attempt_in_a_step_fails_the_step_cleanly(ctx, source):
    execution = ExecutionFactory(version__workflow__workspace=ctx.workspace, contact=ctx.contact)
    ctx.execution = execution
    try:
        result = run_node("add_note", {"text": f"note {source}"}, ctx)
    except StepError as exc:
        assert str(exc).startswith("Template error"), exc
        return
    assert_harmless(result.output["text"])


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.__class__ }}",
        "{{ contact['__class__'] }}",
        "{% set x = 1 %}",
        "{% import 'os' as os %}",
        "{{ contact|attr('x') }}",
        "{{ x|list }}",
        "{{",
    ],
)
def test_an_escape_attempt_is_refused_when_the_definition_is_saved(source):
    definition = {
        "trigger": {"type": "manual"},
        "nodes": [{"id": "note", "type": "add_note", "config": {"text": source}}],
        "edges": [{"source": "trigger", "target": "note"}],
    }
    with pytest.raises(ValidationError) as caught:
        definition_clean(definition)
    assert list(caught.value.message_dict) == ["nodes.note.config.text"]


def test_names_built_at_runtime_are_refused_at_render(ctx):
    with pytest.raises(StepError, match="not available"):
        ctx.render("{{ contact['__cla' ~ 'ss__'] }}")


def test_a_runaway_loop_stops_at_the_budget(ctx):
    with pytest.raises(StepError, match="Loops ran more than"):
        ctx.render("{% for i in range(100000) %}x{% endfor %}")


def test_a_huge_output_stops_at_the_cap(ctx):
    with pytest.raises(StepError, match="longer than"):
        ctx.render("{% for i in range(9000) %}{{ 'x' * 100 }}{% endfor %}")


def test_an_error_inside_a_template_is_the_steps_error(ctx):
    with pytest.raises(StepError, match="Template error"):
        ctx.render("{{ 1 / 0 }}")
    with pytest.raises(StepError, match="Template error"):
        ctx.render("{{ contact.first_name + 3 }}")


def test_a_template_never_writes_to_the_data_it_sees(ctx):
    before = dict(ctx.trigger["data"])
    for source in ("{{ trigger.data.update({'name': 'Eve'}) }}", "{{ trigger.data.items.append(1) }}"):
        with contextlib.suppress(StepError):
            ctx.render(source)
    assert ctx.trigger["data"] == before
