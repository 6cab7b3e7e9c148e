"""The page renderer: every component type inside a valid HTML5 document, the head a page needs,
accessible forms that post where the endpoint listens, and the editor's markers only in editor mode."""

import uuid
from datetime import UTC, datetime, timedelta

import html5lib
import pytest

from builder.components import REGISTRY, get_type
from builder.form_tokens import form_token_age
from builder.models import Component, Page, Site
from builder.rendering import NavPage, PageData, SiteData, render_document, render_page, theme_css
from builder.rendering.document import COUNTDOWN_SCRIPT, FORMS_SCRIPT, TURNSTILE_SCRIPT_URL
from builder.theme import FONT_STACKS
from tests.factories import WorkspaceFactory

SITE = SiteData(name="Acme", theme={}, seo={}, favicon="", turnstile_site_key="")
PAGE = PageData(title="Home", path="/", seo_title="", seo_description="", og_image="")
FORM_TYPES = sorted(name for name, component_type in REGISTRY.items() if component_type.is_form)


def node(type_: str, children=(), *, with_id: bool = True, **config) -> dict:
    """A tree node with a validated config: the shape builder.selectors.page_tree returns."""
    built = {"type": type_, "config": get_type(type_).validate(config), "children": list(children)}
    if with_id:
        built.update(id=str(uuid.uuid4()), version=1)
    return built


def render(tree, *, mode="preview", site=SITE, page=PAGE, nav_pages=None) -> str:
    return render_document(site=site, page=page, tree=tree, mode=mode, nav_pages=nav_pages)


def parse(html: str):
    """The document as an element tree; html5lib in strict mode raises on the first parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(html)


def classes(element) -> list[str]:
    return (element.get("class") or "").split()


def style_text(doc) -> str:
    return "".join(style.text or "" for style in doc.iter("style"))


def all_nodes(tree):
    for item in tree:
        yield item
        yield from all_nodes(item["children"])


def every_type_tree() -> list[dict]:
    """One node of every type at the top level, and a section holding a few more."""
    tree = [node(name) for name in REGISTRY]
    tree.append(node("section", [node("heading"), node("contact_form"), node("image")], columns=3))
    return tree


# --- Every component type ---------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
@pytest.mark.parametrize("mode", ["published", "preview", "editor"])
def test_every_type_default_config_renders_inside_a_valid_document(type_name, mode):
    item = node(type_name)
    doc = parse(render([item], mode=mode))

    assert doc.find("head/title") is not None
    if mode == "editor":
        marked = doc.findall(f".//main[@data-children-of='root']/*[@data-component-id='{item['id']}']")
        assert len(marked) == 1
        assert marked[0].get("data-component-type") == type_name
        assert "sf-c" in classes(marked[0])
    else:
        rendered = [element for element in doc.iter() if "sf-c" in classes(element)]
        assert len(rendered) == 1


def test_every_type_has_its_own_template():
    assert {component_type.template for component_type in REGISTRY.values()} == {
        f"site/components/{name}.html" for name in REGISTRY
    }


@pytest.mark.parametrize("mode", ["published", "preview", "editor"])
def test_a_page_of_every_type_parses_strictly(mode):
    html = render(every_type_tree(), mode=mode)

    assert html.startswith("<!doctype html>")
    doc = parse(html)
    assert doc.get("lang") == "en"
    assert doc.find("head/meta[@charset='utf-8']") is not None
    assert doc.find("head/meta[@name='viewport']").get("content") == "width=device-width, initial-scale=1"
    assert len(doc.findall(".//style")) == 1


def test_unknown_type_and_invalid_config_render_nothing():
    good = node("heading", text="Still here")
    broken = {"id": str(uuid.uuid4()), "type": "heading", "config": {"level": 9}, "children": []}
    unknown = {"id": str(uuid.uuid4()), "type": "marquee", "config": {}, "children": []}

    doc = parse(render([unknown, good, broken], mode="editor"))

    assert [element.get("data-component-id") for element in doc.iter() if element.get("data-component-id")] == [
        good["id"]
    ]


def test_configs_written_before_a_field_existed_get_its_default():
    item = {"id": str(uuid.uuid4()), "type": "hero", "config": {"headline": "Old hero"}, "children": []}

    doc = parse(render([item]))

    assert doc.find(".//h1").text == "Old hero"
    assert doc.find(".//a[@class='sf-btn sf-btn--primary sf-btn--large']").text == "Get started"


# --- Headings, images, links ------------------------------------------------------------------------------


def test_a_page_with_a_hero_has_exactly_one_h1():
    tree = [
        node("navbar"),
        node("hero", headline="Grow faster"),
        node("section", [node("heading", text="Why us"), node("features"), node("stats", heading="Numbers")]),
        node("pricing"),
        node("faq"),
        node("testimonials"),
        node("cta_banner"),
        node("contact_form"),
        node("countdown"),
        node("footer", columns=[{"title": "Company", "links": [{"label": "About", "url": "/about"}]}]),
    ]

    doc = parse(render(tree))

    assert [h1.text for h1 in doc.iter("h1")] == ["Grow faster"]
    assert doc.find(".//h2").text == "Why us"


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_heading_renders_the_level_it_asks_for(level):
    doc = parse(render([node("heading", text="Title", level=level)]))

    headings = [element for element in doc.iter() if element.tag in ("h1", "h2", "h3", "h4")]
    assert [(element.tag, element.text) for element in headings] == [(f"h{level}", "Title")]


def test_images_always_have_alt_and_load_lazily_but_the_heros():
    tree = [
        node("hero", layout="split", image={"src": "/img/hero.png", "alt": "Our app"}),
        node("image", image={"src": "https://cdn.example.com/deco.png", "alt": ""}),
        node("gallery", images=[{"src": "/a.png", "alt": "A"}, {"src": "/b.png", "alt": ""}]),
        node("logo_cloud", logos=[{"src": "/logo.svg", "alt": "Globex"}]),
        node("testimonials", items=[{"quote": "Great", "name": "Al", "avatar": {"src": "/al.jpg", "alt": "Al"}}]),
        node("navbar", logo={"src": "/logo.svg", "alt": "Acme"}),
        node("section", [], background="image", background_image="/bg.jpg"),
    ]

    html = render(tree)
    images = list(parse(html).iter("img"))

    assert len(images) == 8
    for image in images:
        assert image.get("alt") is not None, image.attrib
        assert image.get("decoding") == "async"
        if image.get("src") == "/img/hero.png":  # the largest paint: fetched first, not lazily
            assert image.get("fetchpriority") == "high" and image.get("loading") is None
        else:
            assert image.get("loading") == "lazy", image.attrib
    assert {image.get("src"): image.get("alt") for image in images}["https://cdn.example.com/deco.png"] == ""
    assert 'src="https://cdn.example.com/deco.png" alt=""' in html


def test_an_image_without_src_is_a_placeholder_not_a_broken_img():
    doc = parse(render([node("image", image={"src": "", "alt": "Team photo"}), node("gallery")]))

    assert doc.find(".//img") is None
    placeholders = [element for element in doc.iter() if "sf-placeholder" in classes(element)]
    assert placeholders[0].get("role") == "img"
    assert placeholders[0].get("aria-label") == "Team photo"


def test_links_that_open_a_new_tab_do_not_leak_the_opener():
    tree = [
        node("button", label="Docs", url="https://docs.example.com", open_in_new_tab=True),
        node("button", label="Here", url="/here"),
        node("footer", social=[{"network": "github", "url": "https://github.com/acme"}]),
    ]

    doc = parse(render(tree))
    links = {link.get("href"): link for link in doc.iter("a")}

    assert links["https://docs.example.com"].get("target") == "_blank"
    assert links["https://docs.example.com"].get("rel") == "noopener noreferrer"
    assert links["/here"].get("target") is None
    assert links["https://github.com/acme"].get("rel") == "noopener noreferrer"
    assert links["https://github.com/acme"].get("aria-label") == "GitHub"


def test_rich_text_renders_as_html_and_plain_text_is_escaped():
    tree = [
        node("rich_text", html="<p>Hello <strong>there</strong> <a href='https://x.example'>link</a></p>"),
        node("heading", text="<b>not bold</b>", subtitle="Fish & chips"),
        node("faq", items=[{"question": "<i>Q</i>", "answer": "<p>An <em>answer</em></p>"}]),
    ]

    html = render(tree)
    doc = parse(html)

    assert doc.find(".//strong").text == "there"
    assert doc.find(".//h2").text == "<b>not bold</b>"
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "Fish &amp; chips" in html
    assert doc.find(".//details/summary").text == "<i>Q</i>"
    assert doc.find(".//details/div/p/em").text == "answer"


# --- Components ----------------------------------------------------------------------------------------------


def test_navbar_and_footer_are_the_page_landmarks_around_main():
    doc = parse(render([node("navbar"), node("hero"), node("footer")]))
    body = list(doc.find("body"))
    tags = [element.tag for element in body if element.tag in ("header", "main", "footer")]

    assert tags == ["header", "main", "footer"]
    assert doc.find(".//header/nav").get("aria-label") == "Main"
    assert doc.find(".//a[@href='#sf-main']") is not None


def test_navbar_without_links_lists_the_site_pages():
    pages = [NavPage(title="Home", path="/"), NavPage(title="Pricing", path="/pricing")]
    page = PageData(title="Pricing", path="/pricing", seo_title="", seo_description="", og_image="")

    doc = parse(render([node("navbar", links=[])], page=page, nav_pages=pages))

    links = doc.findall(".//ul[@class='sf-nav__links']/li/a")
    assert [(link.text, link.get("href"), link.get("aria-current")) for link in links] == [
        ("Home", "/", None),
        ("Pricing", "/pricing", "page"),
    ]


def test_section_lays_out_its_children_in_columns():
    child = node("heading", text="Inside")
    doc = parse(render([node("section", [child], columns=3, background="dark", anchor="features")]))

    section = doc.find(".//section[@id='features']")
    assert "sf-bg-dark" in classes(section)
    grid = section.find(".//div[@class='sf-cols sf-cols-3 sf-valign-top']")
    assert grid.find(".//h2").text == "Inside"


def test_highlighted_pricing_plan_stands_out():
    plans = [{"name": "Basic", "price": "$9"}, {"name": "Pro", "price": "$29", "highlighted": True}]
    doc = parse(render([node("pricing", plans=plans)]))

    cards = [element for element in doc.iter("div") if "sf-plan" in classes(element)]
    assert ["sf-plan--highlighted" in classes(card) for card in cards] == [False, True]
    assert cards[1].find("p[@class='sf-plan__badge']").text == "Most popular"
    assert [card.find("h3").text for card in cards] == ["Basic", "Pro"]


def test_testimonial_rating_has_an_accessible_label():
    items = [{"quote": "Good", "name": "Ann Lee", "rating": 4}, {"quote": "Fine", "name": "Bo", "rating": 0}]
    doc = parse(render([node("testimonials", items=items)]))

    ratings = [element for element in doc.iter("div") if "sf-stars" in classes(element)]
    assert [(rating.get("role"), rating.get("aria-label")) for rating in ratings] == [("img", "Rated 4 out of 5")]
    assert [element.text for element in doc.iter("span") if "sf-avatar--initials" in classes(element)] == ["AL", "B"]


def test_faq_works_without_javascript():
    doc = parse(render([node("faq")]))

    assert doc.find(".//details/summary").text == "How do I start?"
    assert doc.find(".//script") is None


@pytest.mark.parametrize(
    ("provider", "src"),
    [
        ("youtube", "https://www.youtube-nocookie.com/embed/abc_DEF-123"),
        ("vimeo", "https://player.vimeo.com/video/abc_DEF-123"),
    ],
)
def test_video_embeds_the_privacy_friendly_player(provider, src):
    doc = parse(render([node("video", provider=provider, video_id="abc_DEF-123", title="Tour")]))

    iframe = doc.find(".//iframe")
    assert iframe.get("src") == src
    assert iframe.get("title") == "Tour"
    assert iframe.get("loading") == "lazy"
    assert iframe.get("allowfullscreen") is not None


def test_video_without_id_shows_a_placeholder():
    assert parse(render([node("video")])).find(".//iframe") is None


def test_countdown_shows_the_date_without_javascript_and_ticks_with_it():
    item = node("countdown", target="2099-03-01T09:00:00+01:00", expired_text="Live!")

    preview = parse(render([item]))
    time = preview.find(".//time")
    assert time.get("datetime") == "2099-03-01T09:00:00+01:00"
    assert time.text == "1 March 2099, 09:00 UTC+01:00"
    assert preview.find(".//p[@data-sf-done]").get("hidden") is not None
    assert preview.find(".//script[@data-sf-script='countdown']").text == COUNTDOWN_SCRIPT

    editor = parse(render([item], mode="editor"))
    assert editor.find(".//script") is None
    assert editor.find(".//div[@data-sf-clock]").get("hidden") is None


def test_countdown_past_its_target_says_so():
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    doc = parse(render([node("countdown", target=past, expired_text="It's live!")]))

    done = doc.find(".//p[@data-sf-done]")
    assert done.text == "It's live!"
    assert done.get("hidden") is None


def test_spacer_divider_colour_is_a_validated_token():
    doc = parse(render([node("spacer", divider=True, color="#ff0000")]))

    assert doc.find(".//div[@style='--sf-divider:#ff0000']/hr") is not None


# --- Forms -----------------------------------------------------------------------------------------------------

ALL_KINDS = [
    {"kind": "text", "name": "name", "label": "Name", "required": True},
    {"kind": "email", "name": "email", "label": "Email", "required": True},
    {"kind": "phone", "name": "phone", "label": "Phone"},
    {"kind": "textarea", "name": "message", "label": "Message"},
    {"kind": "select", "name": "size", "label": "Team size", "options": ["1-10", "11+"], "required": True},
    {"kind": "checkbox", "name": "updates", "label": "Send me updates"},
    {"kind": "hidden", "name": "source", "value": "spring-campaign"},
]


def form_tree():
    return [
        node("contact_form", fields=ALL_KINDS, consent={"enabled": True}),
        node("newsletter", layout="inline"),
        node("section", [node("lead_magnet", download_url="https://cdn.example.com/guide.pdf")]),
    ]


def test_every_visible_form_control_has_a_label_and_an_error_slot():
    doc = parse(render(form_tree()))
    labels = {label.get("for"): label for label in doc.iter("label")}
    ids = {element.get("id") for element in doc.iter() if element.get("id")}

    controls = [
        element
        for element in doc.iter()
        if element.tag in ("input", "select", "textarea") and element.get("type") != "hidden"
    ]
    assert len(controls) == 13  # 6 contact fields and consent, 1 newsletter, 2 lead magnet, 3 honeypots
    for control in controls:
        assert control.get("id") in labels, control.attrib
        assert (labels[control.get("id")].text or "").strip()
        if control.get("name") != "website_url":
            assert control.get("aria-describedby") in ids, control.attrib


def test_required_fields_are_marked_for_people_and_browsers():
    doc = parse(render([node("contact_form", fields=ALL_KINDS, consent={"enabled": True, "required": True})]))
    labels = {label.get("for"): label for label in doc.iter("label")}

    for control in doc.iter():
        if control.tag not in ("input", "select", "textarea") or control.get("type") == "hidden":
            continue
        marker = labels[control.get("id")].find("span[@class='sf-req']")
        if control.get("required") is not None:
            assert marker is not None and marker.get("aria-hidden") == "true", control.attrib
        else:
            assert marker is None, control.attrib
    assert {c.get("name") for c in doc.iter() if c.get("required") is not None} == {"name", "email", "size", "consent"}


def test_form_fields_render_by_kind():
    doc = parse(render([node("contact_form", fields=ALL_KINDS, consent={"enabled": True})]))
    by_name = {element.get("name"): element for element in doc.iter() if element.get("name")}

    assert (by_name["email"].get("type"), by_name["email"].get("autocomplete")) == ("email", "email")
    assert (by_name["phone"].get("type"), by_name["phone"].get("autocomplete")) == ("tel", "tel")
    assert (by_name["name"].get("type"), by_name["name"].get("autocomplete")) == ("text", "name")
    assert by_name["message"].tag == "textarea"
    assert [option.get("value") for option in by_name["size"].iter("option")] == ["", "1-10", "11+"]
    assert (by_name["updates"].get("type"), by_name["updates"].get("value")) == ("checkbox", "yes")
    assert (by_name["source"].get("type"), by_name["source"].get("value")) == ("hidden", "spring-campaign")
    assert (by_name["consent"].get("type"), by_name["consent"].get("value")) == ("checkbox", "yes")
    consent_label = doc.find(f".//label[@for='{by_name['consent'].get('id')}']")
    assert consent_label.text == "I agree to receive emails and accept the privacy policy."


@pytest.mark.parametrize("type_name", FORM_TYPES)
def test_forms_carry_a_token_a_honeypot_and_post_to_the_form_endpoint(type_name):
    item = node(type_name)
    doc = parse(render([item]))

    form = doc.find(".//form")
    assert form.get("method") == "post"
    assert form.get("action") == f"/f/{item['id']}/"
    token = form.find(".//input[@name='_ts']")
    assert token.get("type") == "hidden"
    assert form_token_age(token.get("value"), item["id"]) >= 0
    trap = form.find(".//input[@name='website_url']")
    assert (trap.get("tabindex"), trap.get("autocomplete"), trap.get("value")) == ("-1", "off", "")
    wrapper = form.find(".//div[@class='sf-hp']")
    assert wrapper.get("aria-hidden") == "true"
    assert wrapper.find("input[@name='website_url']") is not None
    status = form.find(".//p[@data-sf-status]")
    assert (status.get("role"), status.get("aria-live")) == ("status", "polite")
    assert doc.find(".//script[@data-sf-script='forms']").text == FORMS_SCRIPT


def test_published_form_action_is_absolute_on_site_url(settings):
    settings.SITE_URL = "https://app.siteflow.example/"
    item = node("newsletter")

    doc = parse(render([item], mode="published"))

    assert doc.find(".//form").get("action") == f"https://app.siteflow.example/f/{item['id']}/"


def test_forms_from_the_template_library_cannot_be_submitted():
    doc = parse(render([node("contact_form", with_id=False)]))

    form = doc.find(".//form")
    assert form.get("action") is None
    assert form.get("data-sf-form") is None
    assert form.find("fieldset").get("disabled") is not None
    assert form.find(".//input[@name='_ts']") is None
    assert doc.find(".//script") is None


def test_lead_magnet_has_a_hidden_slot_for_the_download_link():
    doc = parse(render([node("lead_magnet", download_url="https://cdn.example.com/guide.pdf")]))

    slot = doc.find(".//p[@class='sf-form__download']")
    assert slot.get("hidden") is not None
    assert slot.find("a").get("data-sf-download") is not None
    assert "cdn.example.com" not in render([node("lead_magnet", download_url="https://cdn.example.com/guide.pdf")])


def test_turnstile_appears_only_when_the_site_has_a_key_and_the_form_wants_it():
    keyed = SiteData(name="Acme", theme={}, seo={}, favicon="", turnstile_site_key="0x4AAA-key")
    tree = [node("contact_form"), node("newsletter", use_turnstile=False)]

    doc = parse(render(tree, site=keyed))
    widgets = doc.findall(".//div[@data-sitekey]")
    assert [(widget.get("class"), widget.get("data-sitekey")) for widget in widgets] == [
        ("cf-turnstile sf-form__turnstile", "0x4AAA-key")
    ]
    assert [script.get("src") for script in doc.iter("script") if script.get("src")] == [TURNSTILE_SCRIPT_URL]

    assert parse(render(tree)).find(".//div[@data-sitekey]") is None
    assert parse(render(tree, site=keyed, mode="editor")).find(".//script") is None


# --- Modes -----------------------------------------------------------------------------------------------------


def nested_tree():
    return [
        node("navbar"),
        node("hero"),
        node("section", [node("heading"), node("section", [node("button"), node("contact_form")], columns=2)]),
        node("section"),
        node("footer"),
    ]


def test_editor_mode_marks_every_component_and_runs_no_script():
    tree = nested_tree()
    doc = parse(render(tree, mode="editor"))

    marked = {element.get("data-component-id"): element for element in doc.iter() if element.get("data-component-id")}
    assert set(marked) == {item["id"] for item in all_nodes(tree)}
    for item in all_nodes(tree):
        assert marked[item["id"]].get("data-component-type") == item["type"]
        assert "sf-c" in classes(marked[item["id"]])
    assert doc.find("body/main").get("data-children-of") == "root"
    for section in (item for item in all_nodes(tree) if item["type"] == "section"):
        wrapper = marked[section["id"]].find(f".//*[@data-children-of='{section['id']}']")
        assert [child.get("data-component-id") for child in wrapper] == [child["id"] for child in section["children"]]
    assert doc.find(".//script") is None
    assert doc.find(".//form").get("action") is None


def test_editor_mode_shows_empty_containers_as_drop_targets():
    empty = node("section")

    editor = render([empty], mode="editor")
    assert f'data-children-of="{empty["id"]}"></div>' in editor
    assert "Drop components here" in style_text(parse(editor))

    assert "Drop components here" not in render([empty])


@pytest.mark.parametrize("mode", ["preview", "published"])
def test_preview_and_published_modes_carry_no_editor_markers(mode):
    html = render(nested_tree(), mode=mode)

    assert "data-component-" not in html
    assert "data-children-of" not in html


def test_render_mode_must_be_known():
    with pytest.raises(ValueError, match="mode"):
        render([], mode="draft")


# --- Head and theme --------------------------------------------------------------------------------------------


def test_head_has_title_description_and_social_tags():
    site = SiteData(
        name="Acme",
        theme={},
        seo={"title_suffix": "Acme", "description": "Default description", "og_image": "https://x.example/og.png"},
        favicon="/favicon.ico",
        turnstile_site_key="",
    )
    page = PageData(title="Pricing", path="/pricing", seo_title="Plans & pricing", seo_description="", og_image="")

    doc = parse(render([], site=site, page=page))
    meta = {(tag.get("name") or tag.get("property")): tag.get("content") for tag in doc.iter("meta")}

    assert doc.find("head/title").text == "Plans & pricing · Acme"
    assert meta["description"] == "Default description"
    assert meta["og:title"] == "Plans & pricing"
    assert meta["og:description"] == "Default description"
    assert meta["og:image"] == "https://x.example/og.png"
    assert meta["og:type"] == "website"
    assert meta["og:site_name"] == "Acme"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["robots"] == "noindex, nofollow"
    assert doc.find("head/link[@rel='icon']").get("href") == "/favicon.ico"
    assert doc.find("head/link[@rel='canonical']") is None


def test_page_seo_overrides_the_site_defaults():
    site = SiteData(name="Acme", theme={}, seo={"description": "Site", "og_image": "/site.png"}, favicon="")
    page = PageData(title="About", path="/about", seo_description="About us", og_image="https://cdn.example/a.png")

    doc = parse(render([], site=site, page=page))
    meta = {(tag.get("name") or tag.get("property")): tag.get("content") for tag in doc.iter("meta")}

    assert doc.find("head/title").text == "About"
    assert (meta["description"], meta["og:image"]) == ("About us", "https://cdn.example/a.png")


def test_head_leaves_out_what_is_not_set():
    doc = parse(render([]))
    meta = {(tag.get("name") or tag.get("property")) for tag in doc.iter("meta")}

    assert doc.find("head/title").text == "Home"
    assert not meta & {"description", "og:description", "og:image", "twitter:image"}
    assert doc.find("head/link[@rel='icon']") is None


@pytest.mark.parametrize(
    ("suffix", "title"), [("| Acme", "Pricing | Acme"), ("Acme", "Pricing · Acme"), ("", "Pricing")]
)
def test_title_suffix_brings_its_own_separator_or_gets_one(suffix, title):
    site = SiteData(name="Acme", theme={}, seo={"title_suffix": suffix}, favicon="", turnstile_site_key="")
    page = PageData(title="Pricing", path="/pricing", seo_title="", seo_description="", og_image="")

    assert parse(render([], site=site, page=page)).find("head/title").text == title


def test_published_page_has_a_canonical_url_when_the_site_has_one():
    site = SiteData(name="Acme", theme={}, seo={}, base_url="https://www.acme.example/")
    page = PageData(title="Pricing", path="/pricing")

    doc = parse(render([], site=site, page=page, mode="published"))

    assert doc.find("head/link[@rel='canonical']").get("href") == "https://www.acme.example/pricing"
    assert doc.find("head/meta[@name='robots']") is None
    assert parse(render([], site=site, page=page)).find("head/link[@rel='canonical']") is None


def test_unsafe_favicon_and_og_image_are_dropped():
    site = SiteData(name="Acme", theme={}, seo={}, favicon="javascript:alert(1)")
    page = PageData(title="Home", og_image="data:text/html,<script>alert(1)</script>")

    doc = parse(render([], site=site, page=page))

    assert doc.find("head/link[@rel='icon']") is None
    assert doc.find("head/meta[@property='og:image']") is None


def test_theme_tokens_become_css_variables():
    theme = {
        "colors": {"primary": "#ff0055", "background": "#101010", "text": "#fafafa"},
        "fonts": {"heading": "serif", "body": "mono"},
        "radius": 12,
        "spacing": "spacious",
    }
    site = SiteData(name="Acme", theme=theme, seo={}, favicon="", turnstile_site_key="")

    css = style_text(parse(render([node("hero")], site=site)))

    for declaration in (
        "--sf-primary:#ff0055",
        "--sf-bg:#101010",
        "--sf-text:#fafafa",
        "--sf-secondary:#0ea5e9",
        f"--sf-font-heading:{FONT_STACKS['serif']}",
        f"--sf-font-body:{FONT_STACKS['mono']}",
        "--sf-radius:12px",
        "--sf-space:1.3",
    ):
        assert declaration in css


@pytest.mark.parametrize("theme", [{}, None, {"colors": {"primary": "#123456"}}, {"radius": 0}])
def test_partial_or_empty_theme_renders_with_defaults(theme):
    css = theme_css(theme)

    assert "--sf-bg:#ffffff" in css
    assert "--sf-font-body:" + FONT_STACKS["system"] in css
    assert ("--sf-primary:#123456" if theme and "colors" in theme else "--sf-primary:#4f46e5") in css


def test_a_theme_that_no_longer_validates_falls_back_to_defaults():
    css = theme_css({"colors": {"primary": "red}</style><script>alert(1)</script>"}, "radius": 99})

    assert "--sf-primary:#4f46e5" in css
    assert "<" not in css


@pytest.mark.parametrize(("primary", "on_primary"), [("#4f46e5", "#ffffff"), ("#fde047", "#0f172a")])
def test_text_on_the_primary_colour_is_picked_for_contrast(primary, on_primary):
    assert f"--sf-on-primary:{on_primary}" in theme_css({"colors": {"primary": primary}})


# --- From the database -------------------------------------------------------------------------------------------


@pytest.fixture
def stored_page(db):
    workspace = WorkspaceFactory()
    site = Site.objects.create(
        workspace=workspace,
        name="Acme",
        slug="acme",
        theme={"colors": {"primary": "#0055ff"}},
        seo={"title_suffix": "Acme"},
        turnstile_site_key="0x4AAA-key",
        turnstile_secret_key="0x4AAA-secret",
    )
    home = Page.objects.create(workspace=workspace, site=site, title="Home", path="/", is_home=True, order=0)
    Page.objects.create(workspace=workspace, site=site, title="Pricing", path="/pricing", order=1)

    def add(type_, parent=None, position=0, **config):
        return Component.objects.create(
            workspace=workspace,
            page=home,
            parent=parent,
            type=type_,
            config=get_type(type_).validate(config),
            position=position,
        )

    add("navbar", links=[])
    section = add("section", position=1, columns=2)
    add("heading", parent=section, text="Welcome")
    form = add("contact_form", parent=section, position=1)
    return Page.objects.get(pk=home.pk), form


def test_render_page_reads_site_tree_and_navigation_in_three_queries(stored_page, django_assert_max_num_queries):
    page, form = stored_page

    with django_assert_max_num_queries(3):
        html = render_page(page)

    doc = parse(html)
    assert doc.find("head/title").text == "Home · Acme"
    assert "--sf-primary:#0055ff" in style_text(doc)
    assert [link.text for link in doc.findall(".//ul[@class='sf-nav__links']/li/a")] == ["Home", "Pricing"]
    assert doc.find(".//h2").text == "Welcome"
    assert doc.find(".//form").get("action") == f"/f/{form.pk}/"
    assert doc.find(".//div[@class='cf-turnstile sf-form__turnstile']").get("data-sitekey") == "0x4AAA-key"


def test_render_page_in_editor_mode_marks_the_stored_components(stored_page):
    page, form = stored_page

    doc = parse(render_page(page, mode="editor"))

    ids = {element.get("data-component-id") for element in doc.iter() if element.get("data-component-id")}
    assert ids == {str(pk) for pk in Component.objects.filter(page=page).values_list("pk", flat=True)}
    assert str(form.pk) in ids


def test_render_page_leaves_turnstile_out_without_the_secret_key(stored_page):
    page, _ = stored_page
    Site.objects.filter(pk=page.site_id).update(turnstile_secret_key="")

    assert "data-sitekey" not in render_page(Page.objects.get(pk=page.pk))
