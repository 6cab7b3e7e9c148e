"""The component types a page is built from. Each registers its config model, renderer and events."""

from typing import Literal

from pydantic import Field, model_validator

from builder.components.base import (
    Color,
    ComponentType,
    Config,
    Image,
    Link,
    LongText,
    RichText,
    Text,
    Url,
    register,
)
from builder.components.forms import FormField, FormSettings

Align = Literal["left", "center", "right"]
Background = Literal["default", "surface", "primary", "dark", "image"]
CTA_CLICKED = "cta.clicked"
FORM_SUBMITTED = "form.submitted"


def _component(type_: str, name: str, category: str, description: str, model, **kwargs) -> ComponentType:
    return register(
        ComponentType(
            type=type_,
            name=name,
            category=category,
            description=description,
            config_model=model,
            template=f"site/components/{type_}.html",
            **kwargs,
        )
    )


# --- Layout ---------------------------------------------------------------------------------------------


class SectionConfig(Config):
    anchor: Text = Field("", pattern=r"^$|^[a-z][a-z0-9-]{0,40}$", description="Id for #links, e.g. pricing")
    columns: int = Field(1, ge=1, le=4)
    background: Background = "default"
    background_image: Url = ""
    padding: Literal["none", "small", "medium", "large"] = "medium"
    width: Literal["narrow", "normal", "wide", "full"] = "normal"
    align: Align = "left"
    vertical_align: Literal["top", "center", "bottom"] = "top"


class NavbarConfig(Config):
    brand: Text = "Your brand"
    logo: Image = Field(default_factory=Image)
    links: list[Link] = Field(
        default_factory=lambda: [Link(label="Features", url="#features"), Link(label="Pricing", url="#pricing")],
        max_length=8,
    )
    cta: Link = Field(default_factory=lambda: Link(label="Get started", url="#signup"))
    sticky: bool = True


class FooterColumn(Config):
    title: Text = ""
    links: list[Link] = Field(default_factory=list, max_length=10)


class SocialLink(Config):
    network: Literal["x", "linkedin", "facebook", "instagram", "youtube", "tiktok", "github"] = "linkedin"
    url: Url = ""


class FooterConfig(Config):
    brand: Text = "Your brand"
    tagline: Text = ""
    columns: list[FooterColumn] = Field(default_factory=list, max_length=5)
    social: list[SocialLink] = Field(default_factory=list, max_length=7)
    legal: Text = "© Your brand. All rights reserved."


# --- Content --------------------------------------------------------------------------------------------


class HeroConfig(Config):
    eyebrow: Text = ""
    headline: Text = "A headline that says what you do"
    subheadline: LongText = "One or two sentences on who it is for and why it matters."
    primary_cta: Link = Field(default_factory=lambda: Link(label="Get started", url="#signup"))
    secondary_cta: Link = Field(default_factory=Link)
    image: Image = Field(default_factory=Image)
    layout: Literal["centered", "split", "background"] = "centered"
    background: Background = "default"


class HeadingConfig(Config):
    text: Text = "Section heading"
    level: Literal[1, 2, 3, 4] = 2
    eyebrow: Text = ""
    subtitle: LongText = ""
    align: Align = "left"


class RichTextConfig(Config):
    html: RichText = "<p>Write something your visitors will want to read.</p>"
    align: Align = "left"


class ButtonConfig(Config):
    label: Text = "Learn more"
    url: Url = "#"
    style: Literal["primary", "secondary", "outline", "link"] = "primary"
    size: Literal["small", "medium", "large"] = "medium"
    align: Align = "left"
    open_in_new_tab: bool = False

    @model_validator(mode="after")
    def _label(self) -> "ButtonConfig":
        if not self.label:
            raise ValueError("A button needs a label.")
        return self


class CtaBannerConfig(Config):
    headline: Text = "Ready to get started?"
    text: LongText = ""
    cta: Link = Field(default_factory=lambda: Link(label="Start now", url="#signup"))
    background: Background = "primary"


class Feature(Config):
    icon: Literal[
        "bolt",
        "shield",
        "chart",
        "heart",
        "star",
        "clock",
        "globe",
        "users",
        "check",
        "mail",
        "phone",
        "leaf",
        "gift",
        "calendar",
        "map",
        "sparkles",
    ] = "check"
    title: Text = ""
    text: LongText = ""


class FeaturesConfig(Config):
    heading: Text = "Why people choose us"
    subtitle: LongText = ""
    items: list[Feature] = Field(
        default_factory=lambda: [
            Feature(icon="bolt", title="Fast", text="Up and running in minutes."),
            Feature(icon="shield", title="Safe", text="Your data stays yours."),
            Feature(icon="heart", title="Loved", text="Rated 4.9 by our customers."),
        ],
        max_length=12,
    )
    columns: int = Field(3, ge=2, le=4)


class Stat(Config):
    value: Text = ""
    label: Text = ""


class StatsConfig(Config):
    heading: Text = ""
    items: list[Stat] = Field(
        default_factory=lambda: [Stat(value="10k+", label="Customers"), Stat(value="99.9%", label="Uptime")],
        max_length=6,
    )


class FaqItem(Config):
    question: Text = ""
    answer: RichText = ""


class FaqConfig(Config):
    heading: Text = "Frequently asked questions"
    items: list[FaqItem] = Field(
        default_factory=lambda: [FaqItem(question="How do I start?", answer="<p>Sign up and follow the guide.</p>")],
        max_length=30,
    )


class CountdownConfig(Config):
    heading: Text = "Doors open in"
    #: ISO 8601 date-time with offset, e.g. 2027-03-01T09:00:00+01:00.
    target: Text = Field("2027-01-01T09:00:00+00:00", json_schema_extra={"format": "date-time"})
    expired_text: Text = "It's happening now!"

    @model_validator(mode="after")
    def _target(self) -> "CountdownConfig":
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(self.target)
        except ValueError:
            raise ValueError("target must be an ISO 8601 date-time, e.g. 2027-03-01T09:00:00+01:00.") from None
        if moment.tzinfo is None:
            raise ValueError("target needs a UTC offset, e.g. +00:00.")
        return self


# --- Media ----------------------------------------------------------------------------------------------


class ImageConfig(Config):
    image: Image = Field(default_factory=lambda: Image(src="", alt=""))
    caption: Text = ""
    link: Url = ""
    width: Literal["small", "medium", "full"] = "full"
    rounded: bool = True


class GalleryConfig(Config):
    images: list[Image] = Field(default_factory=list, max_length=24)
    columns: int = Field(3, ge=2, le=4)


class VideoConfig(Config):
    provider: Literal["youtube", "vimeo"] = "youtube"
    #: The video's id on the provider (the part after v= or vimeo.com/).
    video_id: Text = Field("", pattern=r"^$|^[A-Za-z0-9_-]{4,32}$")
    title: Text = "Video"
    aspect: Literal["16:9", "4:3", "1:1"] = "16:9"


class LogoCloudConfig(Config):
    heading: Text = "Trusted by teams at"
    logos: list[Image] = Field(default_factory=list, max_length=16)
    names: list[Text] = Field(default_factory=lambda: ["Northwind", "Globex", "Initech", "Umbrella"], max_length=16)
    grayscale: bool = True


# --- Social proof -------------------------------------------------------------------------------------------


class Testimonial(Config):
    quote: LongText = ""
    name: Text = ""
    role: Text = ""
    avatar: Image = Field(default_factory=Image)
    rating: int = Field(5, ge=0, le=5)


class TestimonialsConfig(Config):
    heading: Text = "What our customers say"
    items: list[Testimonial] = Field(
        default_factory=lambda: [Testimonial(quote="It changed how we work.", name="Alex Doe", role="Founder")],
        max_length=12,
    )
    layout: Literal["grid", "single"] = "grid"


# --- Marketing ----------------------------------------------------------------------------------------------


class PricingPlan(Config):
    name: Text = ""
    price: Text = ""
    period: Text = "/month"
    description: Text = ""
    features: list[Text] = Field(default_factory=list, max_length=20)
    cta: Link = Field(default_factory=lambda: Link(label="Choose plan", url="#signup"))
    highlighted: bool = False


class PricingConfig(Config):
    heading: Text = "Simple, honest pricing"
    subtitle: LongText = ""
    plans: list[PricingPlan] = Field(
        default_factory=lambda: [
            PricingPlan(name="Starter", price="$19", features=["1 site", "Email support"]),
            PricingPlan(name="Pro", price="$49", features=["10 sites", "Priority support"], highlighted=True),
        ],
        min_length=1,
        max_length=5,
    )
    currency_note: Text = ""


# --- Forms ------------------------------------------------------------------------------------------------


class ContactFormConfig(FormSettings):
    heading: Text = "Get in touch"
    intro: LongText = ""
    fields: list[FormField] = Field(
        default_factory=lambda: [
            FormField(kind="text", name="name", label="Name", required=True, placeholder="Your name"),
            FormField(kind="email", name="email", label="Email", required=True, placeholder="you@example.com"),
            FormField(kind="textarea", name="message", label="Message", required=True),
        ],
        min_length=1,
        max_length=30,
    )


class NewsletterConfig(FormSettings):
    heading: Text = "Get our newsletter"
    intro: LongText = "One useful email a month. Unsubscribe any time."
    submit_label: Text = "Subscribe"
    success_message: Text = "You're subscribed. Check your inbox!"
    layout: Literal["inline", "stacked"] = "inline"


class LeadMagnetConfig(FormSettings):
    heading: Text = "Download the free guide"
    intro: LongText = ""
    cover: Image = Field(default_factory=Image)
    #: The file the visitor gets once the form is sent.
    download_url: Url = ""
    submit_label: Text = "Send me the guide"
    success_message: Text = "It's on its way to your inbox."
    fields: list[FormField] = Field(
        default_factory=lambda: [
            FormField(kind="text", name="first_name", label="First name", required=True),
            FormField(kind="email", name="email", label="Email", required=True, placeholder="you@example.com"),
        ],
        min_length=1,
        max_length=30,
    )


class SpacerConfig(Config):
    size: Literal["small", "medium", "large"] = "medium"
    divider: bool = False
    color: Color = "#e5e7eb"


_component(
    "section",
    "Section / columns",
    "layout",
    "A band of the page that lays out other components in one to four columns.",
    SectionConfig,
    is_container=True,
    icon="columns",
)
_component(
    "navbar",
    "Navigation bar",
    "layout",
    "Logo, links and a call to action across the top.",
    NavbarConfig,
    emits=(CTA_CLICKED,),
    icon="menu",
)
_component("footer", "Footer", "layout", "Link columns, social links and the legal line.", FooterConfig, icon="footer")
_component("spacer", "Spacer / divider", "layout", "Breathing room, with an optional line.", SpacerConfig, icon="minus")
_component(
    "hero",
    "Hero",
    "content",
    "The big opening: headline, subheadline, calls to action and an image.",
    HeroConfig,
    emits=(CTA_CLICKED,),
    icon="star",
)
_component(
    "heading", "Heading", "content", "A title with an optional eyebrow and subtitle.", HeadingConfig, icon="heading"
)
_component("rich_text", "Rich text", "content", "Paragraphs, lists and links.", RichTextConfig, icon="text")
_component(
    "button", "Button / CTA", "marketing", "A call-to-action button.", ButtonConfig, emits=(CTA_CLICKED,), icon="cursor"
)
_component(
    "cta_banner",
    "CTA banner",
    "marketing",
    "A coloured band with a headline and one call to action.",
    CtaBannerConfig,
    emits=(CTA_CLICKED,),
    icon="megaphone",
)
_component(
    "features", "Features grid", "content", "Icons, titles and short texts in a grid.", FeaturesConfig, icon="grid"
)
_component("stats", "Stats", "social_proof", "A row of big numbers.", StatsConfig, icon="chart")
_component("faq", "FAQ", "content", "Questions and answers that expand.", FaqConfig, icon="help")
_component(
    "countdown",
    "Countdown",
    "marketing",
    "Days, hours and minutes to a launch or an event.",
    CountdownConfig,
    icon="clock",
)
_component(
    "image", "Image", "media", "One image with alt text and an optional caption and link.", ImageConfig, icon="image"
)
_component("gallery", "Gallery", "media", "A grid of images.", GalleryConfig, icon="images")
_component("video", "Video embed", "media", "A YouTube or Vimeo video.", VideoConfig, icon="play")
_component(
    "logo_cloud",
    "Logo cloud",
    "social_proof",
    "Logos or names of customers and partners.",
    LogoCloudConfig,
    icon="building",
)
_component(
    "testimonials", "Testimonials", "social_proof", "Quotes from happy customers.", TestimonialsConfig, icon="quote"
)
_component(
    "pricing",
    "Pricing table",
    "marketing",
    "Plans side by side, one highlighted.",
    PricingConfig,
    emits=(CTA_CLICKED,),
    icon="tag",
)
_component(
    "contact_form",
    "Contact form",
    "forms",
    "Name, email and message, collected under the site's Submissions.",
    ContactFormConfig,
    emits=(FORM_SUBMITTED,),
    is_form=True,
    icon="mail",
)
_component(
    "newsletter",
    "Newsletter signup",
    "forms",
    "An email field and a subscribe button.",
    NewsletterConfig,
    emits=(FORM_SUBMITTED,),
    is_form=True,
    icon="send",
)
_component(
    "lead_magnet",
    "Lead magnet / download",
    "forms",
    "Offer a guide or a checklist in exchange for an email.",
    LeadMagnetConfig,
    emits=(FORM_SUBMITTED,),
    is_form=True,
    icon="download",
)
