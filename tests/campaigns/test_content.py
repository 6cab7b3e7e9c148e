"""Email content: blocks are checked and sanitised when saved, with every error at its path; compiled
emails are responsive HTML with a text part, carry the legal footer when they are marketing, and keep
their personalization through CSS inlining."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.content import (
    BLOCK_TYPES,
    compile_email,
    contact_context,
    content_clean,
    personalization_catalog,
)
from campaigns.content.blocks import MAX_BLOCKS
from crm.models import CustomFieldType
from tests.factories import ContactFactory, CustomFieldFactory, WorkspaceFactory

GREETING = '{{ contact.first_name | default("there") }}'
ADDRESS = "Acme Ltd\n1 Harbour Street\nBristol BS1 4RW"


def context(**contact) -> dict:
    return {
        "contact": {"email": "ada@example.com", **contact},
        "workspace": {"name": "Acme"},
        "unsubscribe_url": "https://mail.example.com/u/tok123/",
    }


def errors(content) -> dict:
    with pytest.raises(ValidationError) as caught:
        content_clean(content)
    return caught.value.message_dict


def compiled(*blocks, marketing=True, **options):
    return compile_email(
        content={"blocks": list(blocks)},
        subject=options.pop("subject", f"Hi {GREETING}"),
        postal_address=ADDRESS,
        workspace_name="Acme",
        marketing=marketing,
        **options,
    )


# --- Cleaning --------------------------------------------------------------------------------------------


def test_clean_fills_defaults_and_keeps_templates_as_written():
    text = f"<p>Hi {GREETING},</p><p>{{% if contact.score > 10 %}}Thanks!{{% endif %}}</p>"
    cleaned = content_clean({"blocks": [{"type": "divider"}, {"type": "text", "text": text}]})
    assert cleaned == {
        "blocks": [{"type": "divider", "color": "#e5e7eb"}, {"type": "text", "text": text, "align": "left"}]
    }


def test_each_bad_block_is_reported_at_its_path():
    content = {
        "blocks": [
            {"type": "heading", "text": "Hello"},
            {"type": "button", "label": "Go", "url": "javascript:alert(1)"},
            {"type": "poll"},
            {"type": "heading", "text": "Hi\n{{ contact.first_name }"},
            {"type": "image", "src": "mailto:a@example.com", "width": 900},
            {"type": "button", "label": "", "url": "https://example.com", "colour": "red"},
        ]
    }
    assert errors(content) == {
        "content.blocks.1.url": ["Links must start with one of: http://, https://, mailto:."],
        "content.blocks.2.type": [
            "Unknown block type 'poll'. Known types: "
            "'heading', 'text', 'image', 'button', 'divider', 'footer', 'columns'."
        ],
        "content.blocks.3.text": ["Line 2: unexpected '}'"],
        "content.blocks.4.src": ["Links must start with one of: https://, http://."],
        "content.blocks.4.width": ["Input should be less than or equal to 600"],
        "content.blocks.5.colour": ["Extra inputs are not permitted"],
    }


def test_errors_inside_columns_name_the_column_and_block():
    content = {
        "blocks": [
            {"type": "divider"},
            {
                "type": "columns",
                "columns": [
                    {"blocks": [{"type": "text", "text": "<p>ok</p>"}, {"type": "columns"}]},
                    {"blocks": [{"type": "text", "text": "<p>{% if contact.vip %}VIP</p>"}]},
                ],
            },
        ]
    }
    found = errors(content)
    assert found.keys() == {"content.blocks.1.columns.0.blocks.1.type", "content.blocks.1.columns.1.blocks.0.text"}
    assert found["content.blocks.1.columns.0.blocks.1.type"] == ["Columns can't hold columns."]
    assert found["content.blocks.1.columns.1.blocks.0.text"][0].startswith("Line 1: Unexpected end of template.")


def test_columns_hold_two_or_three():
    assert errors({"blocks": [{"type": "columns", "columns": [{"blocks": []}]}]}) == {
        "content.blocks.0.columns": ["List should have at least 2 items after validation, not 1"]
    }


def test_too_many_blocks_are_refused():
    assert errors({"blocks": [{"type": "divider"}] * (MAX_BLOCKS + 1)}) == {
        "content.blocks": [f"List should have at most {MAX_BLOCKS} items after validation, not {MAX_BLOCKS + 1}"]
    }


@pytest.mark.parametrize("content", [[], "blocks", {"blocks": "many"}, {"blocks": [None]}, {"blocks": [{}]}])
def test_malformed_content_is_a_validation_error_not_a_crash(content):
    assert all(key.startswith("content") for key in errors(content))


def test_a_broken_template_in_the_subject_or_preheader_is_refused_at_its_field():
    with pytest.raises(ValidationError) as caught:
        compiled({"type": "divider"}, subject="Hi {{ contact.first_name")
    assert list(caught.value.message_dict) == ["subject"]
    with pytest.raises(ValidationError) as caught:
        compiled({"type": "divider"}, preheader="{% if x %}")
    assert list(caught.value.message_dict) == ["preheader"]


def test_rich_text_keeps_only_simple_formatting_and_safe_links():
    dirty = (
        '<p onclick="steal()">Hi <strong>there</strong> <em>you</em><script>alert(1)</script>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(1)">bad</a>'
        '<a href="https://example.com/?e={{ contact.email }}" style="color:red" target="_blank">good</a>'
        '<a href="{{ contact.website }}">theirs</a><iframe src="https://evil.example"></iframe></p>'
        "<ul><li>one</li></ul><h1>big</h1>"
    )
    [block] = content_clean({"blocks": [{"type": "text", "text": dirty}]})["blocks"]
    assert block["text"] == (
        "<p>Hi <strong>there</strong> <em>you</em><a>bad</a>"
        '<a href="https://example.com/?e={{ contact.email }}">good</a><a>theirs</a></p>'
        "<ul><li>one</li></ul>big"
    )


# --- Compiling and rendering ---------------------------------------------------------------------------------


def test_a_marketing_email_carries_the_postal_address_and_an_unsubscribe_link():
    email = compiled({"type": "heading", "text": "News"}).render(context())
    for line in ADDRESS.splitlines():
        assert line in email.html
        assert line in email.text
    assert '<a href="https://mail.example.com/u/tok123/"' in email.html
    assert email.text.endswith("Unsubscribe: https://mail.example.com/u/tok123/")


def test_the_footer_is_added_even_with_a_footer_block_of_the_workspaces_own():
    email = compiled({"type": "footer", "text": "Thanks for reading"}).render(context())
    assert "Thanks for reading" in email.html
    assert "https://mail.example.com/u/tok123/" in email.html
    assert "Bristol BS1 4RW" in email.html


def test_a_transactional_email_has_no_unsubscribe_link_or_address():
    email = compiled({"type": "heading", "text": "Your receipt"}, marketing=False).render(context())
    assert "Your receipt" in email.html
    assert "Bristol" not in email.html + email.text
    assert "mail.example.com/u/" not in email.html + email.text
    assert "Unsubscribe" not in email.html + email.text


def test_the_postal_address_is_printed_as_written_even_with_braces_or_markup():
    email = compile_email(
        content={}, subject="Hi", postal_address="<b>{{ 7 * 7 }}</b> {% if %}", workspace_name="A & B"
    ).render(context())
    assert "&lt;b&gt;{{ 7 * 7 }}&lt;/b&gt; {% if %}" in email.html
    assert "<b>{{ 7 * 7 }}</b> {% if %}" in email.text
    assert "A &amp; B" in email.html


def test_the_html_is_a_responsive_600px_table_layout_with_inlined_css_and_fitted_images():
    email = compiled(
        {"type": "text", "text": "<p>Para</p>"},
        {"type": "image", "src": "https://cdn.example.com/wide.png", "width": 600},
        {
            "type": "columns",
            "columns": [
                {"blocks": [{"type": "heading", "text": "L"}]},
                {"blocks": [{"type": "image", "src": "https://cdn.example.com/side.png", "width": 600}]},
            ],
        },
        preheader="The preview line",
    ).render(context())
    assert email.html.startswith("<!DOCTYPE html>")
    assert 'class="container"' in email.html
    assert 'width="600"' in email.html
    assert "@media only screen and (max-width: 620px)" in email.html
    assert '<p style="margin: 0 0 12px;">Para</p>' in email.html
    assert 'class="preheader" style="display: none;' in email.html
    assert "The preview line" in email.html
    assert 'width="50%"' in email.html
    # An image never wider than the room it has, as Outlook ignores max-width.
    assert 'src="https://cdn.example.com/wide.png" alt="" width="536"' in email.html
    assert 'src="https://cdn.example.com/side.png" alt="" width="256"' in email.html


def test_personalization_survives_css_inlining_in_text_and_links():
    email = compiled(
        {"type": "heading", "text": f"Hello {GREETING} & co"},
        {
            "type": "text",
            "text": (
                f"<p>Hi {GREETING},</p><p>{{% if contact.score > 10 %}}You are a star.{{% else %}}Welcome.{{% endif %}}"
                ' <a href="https://example.com/p?n={{ contact.first_name | default("friend") }}'
                '{% if contact.score > 10 %}&vip=1{% endif %}">Your page</a></p>'
            ),
        },
        {
            "type": "button",
            "label": "Go, {{ contact.first_name }}",
            "url": "https://example.com/?e={{ contact.email }}",
        },
    )
    anonymous = email.render(context(score=1))
    star = email.render(context(first_name="Ada", score=20))
    assert "Hello there &amp; co" in anonymous.html
    assert "<p>Hi there,</p>" in anonymous.html.replace(' style="margin: 0 0 12px;"', "")
    assert "Welcome." in anonymous.html
    assert "You are a star." not in anonymous.html
    assert 'href="https://example.com/p?n=friend"' in anonymous.html
    assert "Hello Ada &amp; co" in star.html
    assert "You are a star." in star.html
    assert 'href="https://example.com/p?n=Ada&amp;vip=1"' in star.html
    assert 'href="https://example.com/?e=ada@example.com"' in star.html
    assert "Go, Ada" in star.html
    assert "{{" not in star.html + star.text
    assert "{%" not in star.html + star.text


def test_contact_data_is_escaped_in_the_html_and_plain_in_the_text():
    email = compiled({"type": "heading", "text": "Hi {{ contact.first_name }}"})
    rendered = email.render(context(first_name="<img src=x onerror=alert(1)>"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert "<img src=x" not in rendered.html
    assert "Hi <img src=x onerror=alert(1)>" in rendered.text


def test_the_text_part_has_headings_paragraphs_links_and_the_footer():
    email = compiled(
        {"type": "heading", "text": f"Hello {GREETING}"},
        {
            "type": "text",
            "text": '<p>First line<br>second line</p><p>Read <a href="https://example.com/post">the post</a>.</p>'
            "<ul><li>One</li><li>Two</li></ul>",
        },
        {"type": "image", "src": "https://cdn.example.com/a.png", "alt": "Our shop", "link": "https://example.com/"},
        {"type": "button", "label": "Shop now", "url": "https://example.com/shop"},
        {"type": "divider"},
        {"type": "columns", "columns": [{"blocks": [{"type": "heading", "text": "Left"}]}, {"blocks": []}]},
        {"type": "footer", "text": "See you soon"},
    ).render(context())
    assert email.text == (
        "Hello there\n\n"
        "First line\nsecond line\n\n"
        "Read the post (https://example.com/post).\n\n"
        "- One\n- Two\n\n"
        "Our shop (https://example.com/)\n\n"
        "Shop now (https://example.com/shop)\n\n"
        "---\n\n"
        "Left\n\n"
        "See you soon\n\n"
        "--\nAcme\nAcme Ltd\n1 Harbour Street\nBristol BS1 4RW\n"
        "Unsubscribe: https://mail.example.com/u/tok123/"
    )


def test_subject_variants_render_and_stay_on_one_line():
    email = compiled({"type": "divider"}, subject=f"Hi {GREETING}", subject_b="News for {{ contact.name }}")
    assert email.render(context()).subject == "Hi there"
    assert email.render(context(name="Ada\r\nBcc: x@example.com"), variant="b").subject == (
        "News for Ada Bcc: x@example.com"
    )
    assert compiled({"type": "divider"}).render(context(), variant="b").subject == "Hi there"


def test_every_block_type_has_a_schema_for_the_editor():
    assert set(BLOCK_TYPES) == {"heading", "text", "image", "button", "divider", "columns", "footer"}
    assert BLOCK_TYPES["text"]["properties"]["text"]["format"] == "richtext"
    assert BLOCK_TYPES["button"]["properties"]["background"]["format"] == "color"


# --- Personalization data ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_contact_context_has_the_standard_and_custom_fields():
    contact = ContactFactory(
        first_name="",
        last_name="Lovelace",
        company="Engines",
        score=12,
        custom_fields={"plan": "pro", "email": "not@this.one"},
    )
    data = contact_context(contact)
    assert data == {
        "plan": "pro",
        "email": contact.email,
        "first_name": "",
        "last_name": "Lovelace",
        "name": "Lovelace",
        "company": "Engines",
        "phone": "",
        "score": 12,
        "stage": "subscriber",
    }
    email = compiled({"type": "heading", "text": f"Hi {GREETING} on {{{{ contact.plan }}}}"}).render(
        {"contact": data, "workspace": {"name": "Acme"}, "unsubscribe_url": "https://x.example/u/"}
    )
    assert "Hi there on pro" in email.html


@pytest.mark.django_db
def test_the_catalog_lists_standard_fields_the_workspaces_custom_fields_and_examples():
    workspace = WorkspaceFactory(name="Acme")
    CustomFieldFactory(workspace=workspace, key="plan", label="Plan", type=CustomFieldType.SELECT, options=["Pro"])
    CustomFieldFactory(workspace=workspace, key="renewal", label="Renewal", type=CustomFieldType.DATE)
    CustomFieldFactory(key="elsewhere")
    catalog = personalization_catalog(workspace)
    keys = [entry["key"] for entry in catalog]
    assert keys[:2] == ["contact.email", "contact.first_name"]
    assert {"key": "contact.plan", "label": "Plan", "example": "Pro"} in catalog
    assert {"key": "contact.renewal", "label": "Renewal", "example": "2026-05-01"} in catalog
    assert "contact.elsewhere" not in keys
    assert catalog[-1] == {"key": "workspace.name", "label": "Workspace name", "example": "Acme"}
