"""Personalization templates: the sandbox keeps templates to the data they are given, a broken one
is refused with its line, and missing values fall back."""

import pytest
from django.core.exceptions import ValidationError

from core.templating import MAX_OUTPUT, TemplateRenderError, template_compile, template_render

CONTACT = {"first_name": "Ada", "email": "ada@example.com", "score": 0, "items": "the field"}


def render(source: str, *, html: bool = False, **context) -> str:
    return template_render(template_compile(source, field="body", html=html), {"contact": CONTACT, **context})


def refusal(source: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        template_compile(source, field="body")
    return caught.value.message_dict["body"]


def test_missing_values_render_empty_and_chain():
    assert render("[{{ contact.nickname }}|{{ contact.address.city.name }}|{{ nothing }}]") == "[||]"


def test_a_missing_value_compares_false_and_stays_missing_through_arithmetic():
    source = "{% if contact.vip > 2 %}vip{% else %}regular{% endif %}|{{ contact.age + 1 }}|{{ 2 * contact.age }}"
    assert render(source) == "regular||"


@pytest.mark.parametrize("first_name", [None, "", "missing"])
def test_default_stands_in_for_a_missing_blank_or_null_value(first_name):
    contact = {} if first_name == "missing" else {"first_name": first_name}
    template = template_compile('Hi {{ contact.first_name | default("there") }}!', field="body")
    assert template_render(template, {"contact": contact}) == "Hi there!"


def test_default_keeps_zero_and_false_and_real_values():
    assert (
        render(
            '{{ contact.score | default(5) }} {{ flag | default("yes") }} {{ contact.first_name | d("x") }}', flag=False
        )
        == "0 False Ada"
    )


def test_null_renders_empty():
    assert render("[{{ value }}]", value=None) == "[]"


def test_dot_access_on_a_mapping_reads_its_keys_not_its_methods():
    assert render("{{ contact.items }}") == "the field"
    with pytest.raises(TemplateRenderError):
        render("{{ contact.keys() }}")


def test_html_templates_escape_values_and_text_templates_do_not():
    context = {"contact": {"first_name": '<script>alert("x")</script>'}}
    html = template_render(template_compile("<p>{{ contact.first_name }}</p>", field="body", html=True), context)
    text = template_render(template_compile("{{ contact.first_name }}", field="body"), context)
    assert html == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>"
    assert text == '<script>alert("x")</script>'


def test_conditions_loops_and_harmless_filters_work():
    source = (
        "{% if contact.score > 10 %}hot{% else %}cold{% endif %}"
        " {% for c in 'abc' %}{{ loop.index }}{{ c | upper }}{% endfor %} {{ contact.first_name.lower() }}"
    )
    assert render(source) == "cold 1A2B3C ada"


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{{ contact['__class__'] }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ contact | attr('__class__') }}",
    ],
)
def test_reaching_python_internals_is_refused_when_saved(source):
    assert refusal(source)


@pytest.mark.parametrize(
    "source",
    [
        "{% set secret = 1 %}",
        "{% include 'settings.py' %}",
        "{% import 'os' as os %}",
        "{% macro boom() %}{{ boom() }}{% endmacro %}",
        "{% autoescape false %}{{ x }}{% endautoescape %}",
        "{% for x in y recursive %}{{ loop(x) }}{% endfor %}",
    ],
)
def test_only_output_conditions_and_loops_are_allowed(source):
    assert refusal(source) == ["Line 1: Only {{ … }}, {% if %} and {% for %} can be used here."]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ contact['__cla' ~ 'ss__'] }}", "'__class__' is not available"),
        ("{{ '{0.__class__}'.format(contact) }}", "no attribute 'format'"),
        ("{{ range[name] }}", "'__globals__' is not available"),
    ],
)
def test_internals_named_at_runtime_are_refused_when_rendered(source, message):
    with pytest.raises(TemplateRenderError, match=message):
        render(source, name="__globals__")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "Loops ran more than"),
        ("{{ 'x' * 1000000000 }}", "too long"),
        ("{{ '%999999999s' % 'x' }}", "not with %"),
        ("{{ 9 ** 99999999 }}", "Exponents"),
        ("{% for i in range(9000) %}{{ 'x' * 100 }}{% endfor %}", f"longer than {MAX_OUTPUT}"),
        ("{{ contact.email.center(1000000000) }}", "center"),
        ("{{ range(10 ** 9) | length }}", "Range too big"),
    ],
)
def test_runaway_templates_stop_with_a_render_error(source, message):
    with pytest.raises(TemplateRenderError, match=message):
        render(source)


def test_filters_that_can_build_huge_strings_do_not_exist():
    assert refusal("{{ contact.email | center(1000000000) }}") == ["Line 1: No filter named 'center'."]


def test_a_syntax_error_names_its_line():
    assert refusal("Hello\n\n{{ contact.first_name }\n") == ["Line 3: unexpected '}'"]


def test_an_unclosed_block_is_refused():
    [message] = refusal("Hi\n{% if contact.first_name %}there")
    assert message.startswith("Line 2: Unexpected end of template.")


def test_a_runtime_error_names_its_line():
    with pytest.raises(TemplateRenderError, match=r"^Line 2: division by zero$"):
        render("fine\n{{ contact.score / 0 }}")


def test_the_same_source_compiles_once():
    source = "Hello {{ contact.first_name }}, cached"
    assert template_compile(source, field="a") is template_compile(source, field="b")
    assert template_compile(source, field="a", html=True) is not template_compile(source, field="a")
