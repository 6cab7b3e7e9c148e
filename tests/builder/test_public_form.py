"""The public form endpoint, POST /f/<component_id>/: what a visitor's post stores, announces and answers,
and that nothing a visitor (or a bot) sends earns a 500 or costs a stored submission."""

import hashlib
import hmac
import io
import json
import random
import urllib.error
from urllib.parse import urlencode

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.db import OperationalError
from freezegun import freeze_time

from builder import public_forms
from builder.components import get_type
from builder.form_tokens import form_token
from builder.models import Component, FormSubmission, Page, Site
from builder.public_views import form_submit
from builder.services import submissions
from core.models import Event
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

FORM_URLENCODED = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
}
REFERER = "https://www.customer.example/contact?utm=spring"
OMIT = object()


@pytest.fixture(autouse=True)
def _no_minimum_wait(settings):
    """How long a visitor took is the subject of its own tests only."""
    settings.FORM_MIN_SUBMIT_SECONDS = 0


@pytest.fixture
def site():
    workspace = WorkspaceFactory()
    return Site.objects.create(workspace=workspace, name="Customer", slug="customer")


@pytest.fixture
def page(site):
    return Page.objects.create(workspace=site.workspace, site=site, title="Contact", path="/contact")


def make_component(page, type_: str = "contact_form", **config) -> Component:
    component_type = get_type(type_)
    return Component.objects.create(
        workspace=page.workspace,
        page=page,
        type=type_,
        config=component_type.validate({**component_type.default_config(), **config}),
    )


@pytest.fixture
def form(page) -> Component:
    return make_component(page)


def url(component) -> str:
    return f"/f/{component.pk}/"


def answers(component, **changes) -> dict:
    """A valid contact-form post; a change to OMIT leaves that key out."""
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "message": "Please call me back.",
        "website_url": "",
        "_ts": form_token(component.pk),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not OMIT}


def post_form(client, component, data, **headers):
    return client.post(url(component), urlencode(data), content_type=FORM_URLENCODED, **headers)


def post_json(client, component, data, **headers):
    return client.post(url(component), json.dumps(data), content_type=JSON_TYPE, **headers)


def nothing_stored() -> bool:
    return not FormSubmission.objects.exists() and not Event.objects.exists()


# --- Accepted ------------------------------------------------------------------------------------------


def test_plain_form_post_stores_the_submission_emits_the_event_and_shows_the_success_page(client, form):
    response = post_form(client, form, answers(form), HTTP_REFERER=REFERER, HTTP_USER_AGENT="Mozilla/5.0 Test")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Thank you! We&#x27;ll be in touch soon." in page
    assert f'href="{REFERER}"' in page
    assert not response.cookies
    for header, value in CORS.items():
        assert response[header] == value
    assert "Access-Control-Allow-Credentials" not in response

    submission = FormSubmission.objects.get()
    assert submission.workspace == form.workspace
    assert (submission.site, submission.page, submission.component) == (form.page.site, form.page, form)
    assert submission.form_name == "Get in touch"
    assert submission.data == {"name": "Ada Lovelace", "email": "ada@example.com", "message": "Please call me back."}
    assert submission.email == "ada@example.com"
    assert submission.user_agent == "Mozilla/5.0 Test"
    assert submission.page_url == REFERER
    assert submission.consent_given is False
    assert submission.consent_text == ""

    event = Event.objects.get()
    assert (event.type, event.workspace, event.subject) == (
        "form.submitted",
        form.workspace,
        f"builder.formsubmission:{submission.pk}",
    )
    assert event.payload == {
        "submission_id": submission.pk,
        "site_id": form.page.site_id,
        "page_id": form.page_id,
        "component_id": str(form.pk),
        "form_type": "contact_form",
        "form_name": "Get in touch",
        "email": "ada@example.com",
        "data": submission.data,
        "consent_given": False,
        "double_opt_in": False,
        "submitted_at": submission.created_at.isoformat(),
    }


def test_json_post_gets_201_with_the_forms_message_and_the_lead_magnets_download(client, page):
    magnet = make_component(page, "lead_magnet", download_url="https://cdn.example.com/guide.pdf", double_opt_in=True)
    data = {"first_name": "Ada", "email": "ada@example.com", "website_url": "", "_ts": form_token(magnet.pk)}

    response = post_json(client, magnet, data)

    assert response.status_code == 201
    submission = FormSubmission.objects.get()
    assert response.json() == {
        "ok": True,
        "message": "It's on its way to your inbox.",
        "redirect": None,
        "download_url": "https://cdn.example.com/guide.pdf",
        "submission_id": submission.pk,
    }
    assert Event.objects.get().payload["double_opt_in"] is True
    assert response["Access-Control-Allow-Origin"] == "*"


def test_multipart_post_from_fetch_with_formdata_asking_for_json_gets_201(client, form):
    response = client.post(url(form), answers(form), HTTP_ACCEPT=JSON_TYPE)

    assert response.status_code == 201, response.content
    assert response.json()["submission_id"] == FormSubmission.objects.get().pk
    assert Event.objects.filter(type="form.submitted").count() == 1


def test_plain_post_goes_303_to_the_redirect_url(client, page):
    form = make_component(page, redirect_url="https://www.customer.example/thanks")

    response = post_form(client, form, answers(form))

    assert response.status_code == 303
    assert response["Location"] == "https://www.customer.example/thanks"
    assert FormSubmission.objects.count() == 1


def test_a_relative_redirect_leads_back_to_the_site_the_visitor_came_from(client, page):
    form = make_component(page, redirect_url="/thanks")

    assert post_form(client, form, answers(form), HTTP_REFERER=REFERER)["Location"] == (
        "https://www.customer.example/thanks"
    )
    assert post_form(client, form, answers(form))["Location"] == "/thanks"
    json_answer = post_json(client, form, answers(form), HTTP_REFERER=REFERER).json()
    assert json_answer["redirect"] == "/thanks"


def test_a_mailto_redirect_is_no_place_to_send_a_browser(client, page):
    form = make_component(page, redirect_url="mailto:sales@customer.example")

    response = post_form(client, form, answers(form))

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()


# --- The outbox: one transaction -------------------------------------------------------------------------


def test_submission_and_event_are_stored_together_or_not_at_all(client, form, monkeypatch, assert_error):
    post_form(client, form, answers(form))
    kept = FormSubmission.objects.get()
    real_emit = submissions.emit

    def emit_then_fail(**kwargs):
        real_emit(**kwargs)  # the event row is written, then the transaction fails after it
        raise OperationalError("database is locked")

    monkeypatch.setattr(submissions, "emit", emit_then_fail)
    response = post_json(client, form, answers(form, name="Grace Hopper"))

    error = assert_error(response, 503, code="unavailable")
    assert "again" in error["message"]
    assert response["Retry-After"]
    assert list(FormSubmission.objects.all()) == [kept]
    assert Event.objects.count() == 1


# --- Honeypot and render token ---------------------------------------------------------------------------


@pytest.mark.parametrize("honeypot", ["https://spam.example", " ", OMIT], ids=["filled", "blank", "missing"])
def test_the_honeypot_must_be_sent_empty(client, form, assert_error, honeypot):
    response = post_json(client, form, answers(form, website_url=honeypot))

    assert_error(response, 400, code="spam_suspected", field="website_url")
    assert nothing_stored()


def test_a_refused_plain_post_gets_a_standalone_error_page_with_a_way_back(client, form):
    response = post_form(client, form, answers(form, website_url="x"), HTTP_REFERER=REFERER)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Spam check" in page
    assert f'href="{REFERER}"' in page
    assert "Go back" in page
    assert "siteflow.css" not in page


def test_a_form_sent_faster_than_a_person_could_is_refused(client, form, settings, assert_error):
    settings.FORM_MIN_SUBMIT_SECONDS = 3
    with freeze_time("2030-01-01 12:00:00") as clock:
        data = answers(form)
        clock.tick(1)
        assert_error(post_json(client, form, data), 400, code="too_fast", field="_ts")
        assert nothing_stored()
        clock.tick(3)
        assert post_json(client, form, data).status_code == 201


@pytest.mark.parametrize("problem", ["other_form", "forged", "garbage", "missing", "not_text", "expired"])
def test_a_token_that_is_not_this_forms_fresh_signed_one_is_refused(
    client, page, form, settings, problem, assert_error
):
    other = make_component(page, "newsletter")
    valid = form_token(form.pk)
    tokens = {
        "other_form": form_token(other.pk),
        "forged": valid[:-3] + ("aaa" if not valid.endswith("aaa") else "bbb"),
        "garbage": "not-a-token",
        "missing": OMIT,
        "not_text": {"nested": valid},
    }
    if problem == "expired":
        with freeze_time("2030-01-01") as clock:
            data = answers(form)
            clock.tick(settings.FORM_TOKEN_MAX_AGE + 1)
            response = post_json(client, form, data)
    else:
        response = post_json(client, form, answers(form, _ts=tokens[problem]))

    assert_error(response, 400, code="invalid_token", field="_ts")
    assert nothing_stored()


# --- Size, type, parsing, method ---------------------------------------------------------------------------


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(client, form, settings, assert_error):
    settings.FORM_MAX_BODY_BYTES = 1000
    response = post_form(client, form, answers(form, message="x" * 2000), HTTP_ACCEPT=JSON_TYPE)

    assert_error(response, 413, code="payload_too_large")
    assert nothing_stored()


def test_a_non_numeric_content_length_is_a_400(client, form, assert_error):
    response = client.post(url(form), "{}", content_type=JSON_TYPE, CONTENT_LENGTH="lots")

    assert_error(response, 400, code="bad_request")


def asgi_request(component, body: io.BytesIO, content_type: str) -> ASGIRequest:
    """A request as an ASGI server hands over a chunked upload: no Content-Length header."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": url(component),
        "query_string": b"",
        "headers": [
            (b"content-type", content_type.encode()),
            (b"accept", JSON_TYPE.encode()),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("198.51.100.7", 50000),
        "server": ("testserver", 80),
    }
    return ASGIRequest(scope, body)


def test_a_chunked_body_over_the_limit_is_refused_after_reading_one_byte_too_many(form, settings):
    settings.FORM_MAX_BODY_BYTES = 1000
    body = io.BytesIO(urlencode(answers(form, message="x" * 5000)).encode())

    response = form_submit(asgi_request(form, body, FORM_URLENCODED), component_id=form.pk)

    assert response.status_code == 413
    assert json.loads(response.content)["error"]["code"] == "payload_too_large"
    assert body.tell() == 1001
    assert nothing_stored()


@pytest.mark.parametrize("content_type", [JSON_TYPE, "multipart/form-data; boundary=BoUnDaRy", FORM_URLENCODED])
def test_a_chunked_body_within_the_limit_is_read(form, content_type):
    data = answers(form)
    if content_type == JSON_TYPE:
        body = json.dumps(data).encode()
    elif content_type.startswith("multipart"):
        parts = [f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in data.items()]
        body = ("".join(parts) + "--BoUnDaRy--\r\n").encode()
    else:
        body = urlencode(data).encode()

    response = form_submit(asgi_request(form, io.BytesIO(body), content_type), component_id=form.pk)

    assert response.status_code == 201, response.content
    assert FormSubmission.objects.get().data["name"] == "Ada Lovelace"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", "application/jsonx"])
def test_anything_but_form_encodings_and_json_is_415(client, form, content_type, assert_error):
    response = client.generic(
        "POST", url(form), json.dumps(answers(form)), content_type=content_type, HTTP_ACCEPT=JSON_TYPE
    )

    assert_error(response, 415, code="unsupported_media_type")
    assert nothing_stored()


@pytest.mark.parametrize("body", ['{"email": ', "[1, 2]", '"a string"', "null", "{" * 5000])
def test_a_json_body_that_is_not_an_object_is_400(client, form, body, assert_error):
    response = client.post(url(form), body, content_type=JSON_TYPE)

    assert_error(response, 400, code="parse_error")


def test_a_preflight_is_answered_with_the_cors_headers(client, form):
    response = client.options(
        url(form),
        HTTP_ORIGIN="https://www.customer.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )

    assert response.status_code == 204
    for header, value in CORS.items():
        assert response[header] == value
    assert int(response["Access-Control-Max-Age"]) > 0
    assert not response.cookies


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_405(client, form, method, assert_error):
    response = getattr(client, method)(url(form), HTTP_ACCEPT=JSON_TYPE)

    assert_error(response, 405, code="method_not_allowed")
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Origin"] == "*"


# --- Which form --------------------------------------------------------------------------------------------


def test_an_unknown_component_is_404(client, form, assert_error):
    Component.objects.filter(pk=form.pk).delete()

    assert_error(post_json(client, form, answers(form)), 404, code="not_found")
    html = post_form(client, form, answers(form))
    assert html.status_code == 404
    assert "Form not found" in html.content.decode()


def test_a_form_whose_page_was_deleted_is_404(client, form, assert_error):
    data = answers(form)
    form.page.delete()

    assert_error(post_json(client, form, data), 404, code="not_found")


def test_a_component_that_is_not_a_form_is_404(client, page, assert_error):
    hero = make_component(page, "hero")

    error = assert_error(post_json(client, hero, answers(hero)), 404, code="not_found")
    assert "not a form" in error["message"]
    assert nothing_stored()


# --- Rate limits ---------------------------------------------------------------------------------------------


def test_one_address_over_its_rate_gets_429_with_retry_after(client, form, settings, assert_error):
    settings.FORM_RATE_IP = "3/min"
    with freeze_time("2030-01-01 12:00:15"):
        data = answers(form)
        statuses = [post_json(client, form, data).status_code for _ in range(4)]
        refused = post_json(client, form, data)
        elsewhere = post_json(client, form, data, REMOTE_ADDR="203.0.113.9")

    assert statuses == [201, 201, 201, 429]
    assert_error(refused, 429, code="throttled")
    assert refused["Retry-After"] == "45"
    assert elsewhere.status_code == 201
    assert FormSubmission.objects.count() == 4


def test_one_form_over_its_rate_gets_429_whoever_sends(client, page, form, settings, assert_error):
    settings.FORM_RATE_FORM = "2/hour"
    other = make_component(page, "contact_form")
    with freeze_time("2030-01-01 12:00:15"):
        data = answers(form)
        statuses = [post_json(client, form, data, REMOTE_ADDR=f"203.0.113.{n}").status_code for n in range(3)]
        refused = post_json(client, form, data, REMOTE_ADDR="203.0.113.50")
        other_form = post_json(client, other, answers(other))

    assert statuses == [201, 201, 429]
    assert_error(refused, 429, code="throttled")
    assert refused["Retry-After"] == str(3600 - 15)
    assert other_form.status_code == 201


# --- The answers ---------------------------------------------------------------------------------------------

SIGNUP_FIELDS = [
    {"kind": "email", "name": "email", "label": "Work email", "required": True},
    {"kind": "text", "name": "company", "label": "Company"},
    {"kind": "phone", "name": "phone", "label": "Phone"},
    {"kind": "select", "name": "size", "label": "Team size", "required": True, "options": ["1-10", "11-50"]},
    {"kind": "checkbox", "name": "demo", "label": "Book a demo"},
    {"kind": "textarea", "name": "notes", "label": "Notes"},
    {"kind": "hidden", "name": "campaign", "value": "spring-launch"},
]


@pytest.fixture
def signup(page) -> Component:
    return make_component(
        page, "newsletter", fields=SIGNUP_FIELDS, consent={"enabled": True, "text": "Email me.", "required": True}
    )


def signup_answers(component, **changes) -> dict:
    data = {
        "email": "ada@example.com",
        "size": "1-10",
        "consent": "on",
        "website_url": "",
        "_ts": form_token(component.pk),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not OMIT}


def test_every_field_at_fault_is_named_and_nothing_is_stored(client, signup, assert_error):
    response = post_json(
        client, signup, signup_answers(signup, email="ada@", size="5000+", consent=OMIT, phone="call me", demo="maybe")
    )

    error = assert_error(response, 400, code="validation_error")
    assert error["details"] == {
        "email": ["Enter a valid email address."],
        "phone": ["Enter a valid phone number."],
        "size": ["Select one of the offered options."],
        "demo": ["Must be checked or unchecked."],
        "consent": ["You must give your consent to send this form."],
    }
    for field in error["details"]:
        assert field in error["message"]
    assert nothing_stored()


def test_a_missing_or_blank_required_field_is_named(client, form, assert_error):
    response = post_json(client, form, answers(form, name="   ", email=OMIT))

    error = assert_error(response, 400, code="validation_error")
    assert error["details"] == {"name": ["This field is required."], "email": ["This field is required."]}
    assert nothing_stored()


def test_the_html_error_page_lists_each_problem_by_its_label(client, signup):
    response = post_form(client, signup, signup_answers(signup, email="nope", consent=OMIT))

    assert response.status_code == 400
    page = response.content.decode()
    assert "<strong>Work email</strong>: Enter a valid email address." in page
    assert "<strong>Consent</strong>" in page


def test_answers_are_typed_hidden_fields_keep_their_value_and_unknown_keys_are_dropped(client, signup):
    data = signup_answers(
        signup,
        campaign="injected",
        company="  Acme  ",
        demo="on",
        phone="+44 (0)20 7946-0958",
        is_admin="true",
        **{"cf-turnstile-response": "unused"},
    )
    response = post_form(client, signup, data)

    assert response.status_code == 200, response.content
    submission = FormSubmission.objects.get()
    assert submission.data == {
        "email": "ada@example.com",
        "company": "Acme",
        "phone": "+44 (0)20 7946-0958",
        "size": "1-10",
        "demo": True,
        "notes": "",
        "campaign": "spring-launch",
    }
    assert submission.consent_given is True
    assert submission.consent_text == "Email me."
    assert Event.objects.get().payload["data"]["campaign"] == "spring-launch"


def test_an_unticked_checkbox_is_false(client, signup):
    assert post_json(client, signup, signup_answers(signup, demo=False)).status_code == 201
    assert FormSubmission.objects.get().data["demo"] is False


FIELDS = {"fields": SIGNUP_FIELDS, "consent": {"enabled": False}}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("phone", "12345", "Enter a valid phone number."),
        ("phone", "1" * 21, "Enter a valid phone number."),
        ("phone", "555-0100 ext 3", "Enter a valid phone number."),
        ("company", "x" * 501, "Ensure this value has at most 500 characters (it has 501)."),
        ("notes", "x" * 5001, "Ensure this value has at most 5000 characters (it has 5001)."),
        ("email", "a" * 250 + "@example.com", "Ensure this value has at most 254 characters (it has 262)."),
        ("company", {"nested": "object"}, "Enter a text value."),
        ("company", ["a", "b"], "Enter a text value."),
        ("company", True, "Enter a text value."),
        ("company", float("nan"), "Enter a text value."),
        ("company", float("inf"), "Enter a text value."),
        ("company", "nul\x00byte", "Null characters are not allowed."),
        ("company", "lone \ud800 surrogate", "Enter valid text."),
        ("demo", "2", "Must be checked or unchecked."),
    ],
)
def test_field_rules(field, value, expected):
    raw = {"email": "ada@example.com", "size": "1-10", field: value}
    with pytest.raises(public_forms.FormInvalid) as caught:
        public_forms.clean_submission(FIELDS, raw)
    assert caught.value.errors == {field: [expected]}


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("phone", "+1 (555) 010-0100", "+1 (555) 010-0100"),
        ("phone", "020.7946.0958", "020.7946.0958"),
        ("notes", "x" * 5000, "x" * 5000),
        ("company", 42, "42"),
        ("demo", 1, True),
        ("demo", "off", False),
    ],
)
def test_field_values_accepted(field, value, stored):
    cleaned = public_forms.clean_submission(FIELDS, {"email": "ada@example.com", "size": "1-10", field: value})
    assert cleaned.data[field] == stored


def test_the_ip_is_stored_only_as_a_keyed_hash(client, form, settings):
    post_form(client, form, answers(form), REMOTE_ADDR="198.51.100.23")
    post_form(client, form, answers(form), REMOTE_ADDR="198.51.100.23")
    post_form(client, form, answers(form), REMOTE_ADDR="198.51.100.24")

    first, second, third = FormSubmission.objects.order_by("id")
    expected = hmac.new(settings.SECRET_KEY.encode(), b"198.51.100.23", hashlib.sha256).hexdigest()
    assert first.ip_hash == second.ip_hash == expected != third.ip_hash
    assert "198.51.100.23" not in first.ip_hash
    assert hashlib.sha256(b"198.51.100.23").hexdigest() != first.ip_hash
    assert "198.51.100.23" not in json.dumps(Event.objects.first().payload)


# --- Turnstile -----------------------------------------------------------------------------------------------


@pytest.fixture
def turnstile(site, monkeypatch):
    """The site has keys; verify_turnstile answers what the test sets and records its calls."""
    site.turnstile_site_key, site.turnstile_secret_key = "0x4AAA-site", "0x4AAA-secret"
    site.save()
    state = {"verdict": True, "calls": []}

    def verify(**kwargs):
        state["calls"].append(kwargs)
        if isinstance(state["verdict"], Exception):
            raise state["verdict"]
        return state["verdict"]

    monkeypatch.setattr(public_forms, "verify_turnstile", verify)
    return state


def test_a_passed_turnstile_check_lets_the_form_through(client, form, turnstile):
    data = answers(form, **{"cf-turnstile-response": "XXXX.DUMMY.TOKEN"})
    response = post_json(client, form, data, REMOTE_ADDR="198.51.100.23")

    assert response.status_code == 201
    assert turnstile["calls"] == [
        {"secret": "0x4AAA-secret", "response": "XXXX.DUMMY.TOKEN", "remoteip": "198.51.100.23"}
    ]


@pytest.mark.parametrize("token", ["XXXX.DUMMY.TOKEN", "", OMIT, "x" * 2049])
def test_a_failed_or_missing_turnstile_check_is_400(client, form, turnstile, token, assert_error):
    turnstile["verdict"] = False

    response = post_json(client, form, answers(form, **{"cf-turnstile-response": token}))

    assert_error(response, 400, code="turnstile_failed", field="cf-turnstile-response")
    assert nothing_stored()
    assert len(turnstile["calls"]) == (1 if token == "XXXX.DUMMY.TOKEN" else 0)


def test_turnstile_unreachable_is_503_so_the_visitor_sends_again(client, form, turnstile, assert_error):
    turnstile["verdict"] = public_forms.TurnstileUnavailable("timed out")

    response = post_json(client, form, answers(form, **{"cf-turnstile-response": "XXXX.DUMMY.TOKEN"}))

    assert_error(response, 503, code="turnstile_unavailable")
    assert int(response["Retry-After"]) > 0
    assert nothing_stored()


def test_turnstile_is_skipped_for_a_form_that_opts_out_and_for_a_site_without_keys(client, page, site, turnstile):
    opted_out = make_component(page, use_turnstile=False)
    assert post_json(client, opted_out, answers(opted_out)).status_code == 201
    site.turnstile_secret_key = ""
    site.save()
    form = make_component(page)
    assert post_json(client, form, answers(form)).status_code == 201
    assert turnstile["calls"] == []


class FakeReply(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b'{"success": true, "error-codes": []}', True),
        (b'{"success": false, "error-codes": ["invalid-input-response"]}', False),
        (b'{"success": "yes"}', False),
        (b"<html>Bad gateway</html>", public_forms.TurnstileUnavailable),
        (b"[]", public_forms.TurnstileUnavailable),
        (urllib.error.URLError("timed out"), public_forms.TurnstileUnavailable),
    ],
)
def test_verify_turnstile_asks_cloudflare_and_reads_its_verdict(monkeypatch, settings, reply, expected):
    sent = []

    def urlopen(request, timeout):
        sent.append((request, timeout))
        if isinstance(reply, Exception):
            raise reply
        return FakeReply(reply)

    monkeypatch.setattr(public_forms.urllib.request, "urlopen", urlopen)
    verify = lambda: public_forms.verify_turnstile(secret="s3cret", response="tok", remoteip="198.51.100.23")  # noqa: E731
    if expected is public_forms.TurnstileUnavailable:
        with pytest.raises(expected):
            verify()
    else:
        assert verify() is expected
    request, timeout = sent[0]
    assert (request.full_url, request.get_method(), timeout) == (settings.TURNSTILE_VERIFY_URL, "POST", 5)
    assert request.data == b"secret=s3cret&response=tok&remoteip=198.51.100.23"


# --- Garbage -------------------------------------------------------------------------------------------------


def fuzz_cases(component) -> list[tuple[str, bytes]]:
    token = form_token(component.pk)
    rng = random.Random(20300101)
    valid = answers(component)

    def jsonb(value) -> bytes:
        return json.dumps(value).encode()

    cases = [
        (JSON_TYPE, jsonb({"x" * 30000: "y", **valid})),
        (JSON_TYPE, jsonb({**valid, "name": {"first": {"deeper": ["Ada"]}}})),
        (JSON_TYPE, jsonb({**valid, "email": ["ada@example.com"], "message": None})),
        (JSON_TYPE, jsonb({**valid, "message": "x" * 60000})),
        (JSON_TYPE, jsonb({**valid, "name": "Ada\x00Lovelace"})),
        (JSON_TYPE, jsonb({**valid, "website_url": None})),
        (JSON_TYPE, jsonb({**valid, "_ts": None})),
        (JSON_TYPE, jsonb({**valid, "_ts": 12345})),
        (JSON_TYPE, jsonb({**valid, "name": 1e308, "message": float("nan")})),
        (JSON_TYPE, jsonb({**valid, "name": "\ud800"})),
        (JSON_TYPE, b'{"name": 1' + b"0" * 5000 + b"}"),
        (JSON_TYPE, b"\xff\xfe\x00garbage"),
        (JSON_TYPE, b"\xc3\x28" * 100),
        (JSON_TYPE, b"[" * 20000 + b"]" * 20000),
        (JSON_TYPE, b""),
        (JSON_TYPE, b"true"),
        (f"{JSON_TYPE}; charset=utf-16", "{}".encode("utf-16")),
        (FORM_URLENCODED, b"\xff\xfe\xfd=\x00\x01&name=%FF%FE&email=%00&_ts=" + token.encode() + b"&website_url="),
        (FORM_URLENCODED, urlencode({**valid, "message": "m\x00"}).encode()),
        (FORM_URLENCODED, b"&&&===&=&" * 100),
        (FORM_URLENCODED, b"a=1&" * 5000),
        (FORM_URLENCODED, urlencode({**valid, "name": "x" * 40000}).encode()),
        (f"{FORM_URLENCODED}; charset=utf-16", urlencode(valid).encode()),
        (f"{FORM_URLENCODED}; charset=nonsense", urlencode(valid).encode()),
        (FORM_URLENCODED, b"%" * 1000),
        ("multipart/form-data", b"--x\r\n\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--x--\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nno headers at all"),
        ("multipart/form-data; boundary=" + "b" * 500, b"--" + b"b" * 500 + b"\r\n"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="name"; filename="a.exe"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\nMZ\x00\x00\r\n--x--\r\n",
        ),
        ("multipart/form-data; boundary=x", b"\x00" * 2000),
    ]
    for _ in range(12):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        cases.append((rng.choice([JSON_TYPE, FORM_URLENCODED, "multipart/form-data; boundary=z"]), blob))
    return cases


@pytest.mark.parametrize("accept", [JSON_TYPE, "text/html"])
def test_garbage_never_earns_a_500_nor_costs_a_stored_submission(client, form, settings, accept):
    settings.FORM_RATE_IP = settings.FORM_RATE_FORM = "100000/min"
    post_form(client, form, answers(form))
    kept = FormSubmission.objects.values().get()

    accepted = 0
    for content_type, body in fuzz_cases(form):
        response = client.generic("POST", url(form), body, content_type=content_type, HTTP_ACCEPT=accept)
        assert response.status_code < 500, (content_type, body[:80], response.status_code, response.content[:300])
        accepted += response.status_code < 400

    # A few are valid answers in odd clothing (a huge unknown key beside them is simply dropped).
    assert FormSubmission.objects.values().get(pk=kept["id"]) == kept
    assert FormSubmission.objects.count() == Event.objects.count() == 1 + accepted
