"""Component trees for the builder benchmarks: a 40-component landing page and a 100-component long page.

Shaped like what marketers build from the template library (a navbar, a hero, sections of columns
holding headings, rich text, images and buttons, features, pricing, testimonials, an FAQ, a contact
form, a footer), with configs filled in the way a finished page has them, since the renderer's cost
grows with what a config holds (rich text to sanitise, lists of plans, questions, links).
"""

THEME = {
    "colors": {
        "primary": "#0f766e",
        "secondary": "#f59e0b",
        "background": "#ffffff",
        "surface": "#f1f5f9",
        "text": "#0f172a",
        "muted": "#475569",
    },
    "fonts": {"heading": "geometric", "body": "humanist"},
    "radius": 10,
    "spacing": "comfortable",
}
SEO = {
    "title_suffix": "| Tidewater Analytics",
    "description": "Tidewater turns product data into weekly decisions for small software teams.",
    "og_image": "https://cdn.tidewater.example/og/home.png",
}
PAGE_SEO = {
    "seo_title": "Product analytics for small teams",
    "seo_description": "Funnels, retention and revenue in one place, set up in an afternoon.",
}

_WORDS = (
    "Tidewater connects to the tools you already use and turns raw events into the handful of numbers "
    "your team actually reviews every Monday."
)


def _image(n: int, alt: str) -> dict:
    return {"src": f"https://cdn.tidewater.example/img/shot-{n:03d}.webp", "alt": alt}


def _rich(n: int) -> str:
    return (
        f"<p>{_WORDS} <strong>Section {n}</strong> shows how teams use it.</p>"
        f"<ul><li>Funnels that explain drop-off</li><li>Retention by cohort and plan</li>"
        f'<li>Revenue from <a href="https://docs.tidewater.example/revenue-{n}">billing events</a></li></ul>'
        "<p>No SQL needed, and your data never leaves your region.</p>"
    )


def navbar() -> dict:
    return {
        "type": "navbar",
        "config": {
            "brand": "Tidewater",
            "logo": _image(1, "Tidewater"),
            "links": [
                {"label": "Product", "url": "#product"},
                {"label": "Features", "url": "#features"},
                {"label": "Pricing", "url": "#pricing"},
                {"label": "Customers", "url": "/customers"},
                {"label": "Docs", "url": "https://docs.tidewater.example"},
            ],
            "cta": {"label": "Start free trial", "url": "#contact"},
            "sticky": True,
        },
    }


def hero() -> dict:
    return {
        "type": "hero",
        "config": {
            "eyebrow": "Product analytics",
            "headline": "Know which features keep customers, by Friday",
            "subheadline": "Connect your app in ten minutes and get funnels, retention and revenue in one "
            "dashboard your whole team understands.",
            "primary_cta": {"label": "Start free trial", "url": "#contact"},
            "secondary_cta": {"label": "Watch the demo", "url": "#demo"},
            "image": _image(2, "The Tidewater dashboard showing a retention chart"),
            "layout": "split",
            "background": "surface",
        },
    }


def logo_cloud() -> dict:
    return {
        "type": "logo_cloud",
        "config": {
            "heading": "Trusted by product teams at",
            "logos": [_image(10 + n, name) for n, name in enumerate(("Northwind", "Globex", "Initech", "Umbrella"))],
            "names": ["Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"],
            "grayscale": True,
        },
    }


def heading(n: int, level: int = 2) -> dict:
    return {
        "type": "heading",
        "config": {
            "text": f"Answers your team can act on ({n})",
            "level": level,
            "eyebrow": "How it works",
            "subtitle": "Every chart links back to the events behind it, so nobody argues about definitions.",
            "align": "left",
        },
    }


def rich_text(n: int) -> dict:
    return {"type": "rich_text", "config": {"html": _rich(n), "align": "left"}}


def image(n: int) -> dict:
    return {
        "type": "image",
        "config": {
            "image": _image(20 + n, f"Screenshot {n} of a Tidewater report"),
            "caption": f"Weekly report, figure {n}",
            "link": "",
            "width": "full",
            "rounded": True,
        },
    }


def button(n: int, style: str = "primary") -> dict:
    return {
        "type": "button",
        "config": {
            "label": f"See example report {n}",
            "url": f"/examples/report-{n}",
            "style": style,
            "size": "medium",
            "align": "left",
            "open_in_new_tab": False,
        },
    }


def section(children: list[dict], *, columns: int, anchor: str = "", background: str = "default") -> dict:
    return {
        "type": "section",
        "config": {
            "anchor": anchor,
            "columns": columns,
            "background": background,
            "padding": "large",
            "width": "normal",
            "align": "left",
            "vertical_align": "top",
        },
        "children": children,
    }


def features() -> dict:
    icons = ("bolt", "shield", "chart", "users", "clock", "globe")
    return {
        "type": "features",
        "config": {
            "heading": "Everything you need, nothing you have to maintain",
            "subtitle": "Built for teams without a data engineer.",
            "items": [
                {"icon": icon, "title": f"Feature {n + 1}", "text": "Set up once, useful every week after that."}
                for n, icon in enumerate(icons)
            ],
            "columns": 3,
        },
    }


def stats() -> dict:
    return {
        "type": "stats",
        "config": {
            "heading": "Tidewater in numbers",
            "items": [
                {"value": "2,400+", "label": "Teams"},
                {"value": "38 bn", "label": "Events a month"},
                {"value": "99.95%", "label": "Uptime"},
                {"value": "10 min", "label": "To first chart"},
            ],
        },
    }


def pricing() -> dict:
    plans = [
        ("Starter", "$0", "For side projects", ["1 project", "1M events", "30-day history"], False),
        ("Team", "$79", "For growing products", ["5 projects", "20M events", "Unlimited history", "SSO"], True),
        ("Scale", "$249", "For many products", ["Unlimited projects", "200M events", "Audit log", "SLA"], False),
    ]
    return {
        "type": "pricing",
        "config": {
            "heading": "Simple pricing that grows with you",
            "subtitle": "Every plan includes every chart. Pay for volume, not seats.",
            "plans": [
                {
                    "name": name,
                    "price": price,
                    "period": "/month",
                    "description": description,
                    "features": plan_features,
                    "cta": {"label": f"Choose {name}", "url": "#contact"},
                    "highlighted": highlighted,
                }
                for name, price, description, plan_features, highlighted in plans
            ],
            "currency_note": "Prices in USD, billed monthly or yearly.",
        },
    }


def testimonials() -> dict:
    people = [("Maya Chen", "Head of Product, Northwind"), ("Jonas Berg", "CTO, Globex"), ("Ada Okafor", "PM, Initech")]
    return {
        "type": "testimonials",
        "config": {
            "heading": "Teams that ship with Tidewater",
            "items": [
                {
                    "quote": "We replaced three dashboards and a weekly spreadsheet ritual with one link.",
                    "name": name,
                    "role": role,
                    "avatar": _image(40 + n, name),
                    "rating": 5,
                }
                for n, (name, role) in enumerate(people)
            ],
            "layout": "grid",
        },
    }


def video() -> dict:
    return {
        "type": "video",
        "config": {
            "provider": "youtube",
            "video_id": "dQw4w9WgXcQ",
            "title": "Tidewater in two minutes",
            "aspect": "16:9",
        },
    }


def cta_banner() -> dict:
    return {
        "type": "cta_banner",
        "config": {
            "headline": "Your first dashboard is ten minutes away",
            "text": "Free for 14 days, no card needed.",
            "cta": {"label": "Start free trial", "url": "#contact"},
            "background": "primary",
        },
    }


def faq() -> dict:
    questions = [
        "How long does setup take?",
        "Where is my data stored?",
        "Can I import historical data?",
        "Do you offer discounts for non-profits?",
        "How do I cancel?",
        "Which integrations are supported?",
    ]
    return {
        "type": "faq",
        "config": {
            "heading": "Frequently asked questions",
            "items": [
                {"question": q, "answer": f'<p>Short answer: it depends. <a href="/docs/faq-{n}">Read more</a>.</p>'}
                for n, q in enumerate(questions)
            ],
        },
    }


def contact_form() -> dict:
    """The type's default fields (name, email, message): what the form benchmark posts."""
    return {
        "type": "contact_form",
        "config": {
            "heading": "Talk to us",
            "intro": "Tell us about your product and we'll set up a trial with your data.",
            "submit_label": "Send message",
            "success_message": "Thanks! We'll reply within one working day.",
        },
    }


def spacer() -> dict:
    return {"type": "spacer", "config": {"size": "medium", "divider": True, "color": "#e2e8f0"}}


def footer() -> dict:
    return {
        "type": "footer",
        "config": {
            "brand": "Tidewater",
            "tagline": "Product analytics for small teams.",
            "columns": [
                {
                    "title": title,
                    "links": [{"label": f"{title} {n}", "url": f"/{title.lower()}/{n}"} for n in range(1, 5)],
                }
                for title in ("Product", "Company", "Resources")
            ],
            "social": [
                {"network": "x", "url": "https://x.com/tidewater"},
                {"network": "linkedin", "url": "https://www.linkedin.com/company/tidewater"},
                {"network": "github", "url": "https://github.com/tidewater"},
            ],
            "legal": "© 2026 Tidewater Analytics Ltd. All rights reserved.",
        },
    }


def landing_page() -> list[dict]:
    """40 components: 16 at the top level, 24 inside five sections."""
    return [
        navbar(),
        hero(),
        logo_cloud(),
        section([heading(1), rich_text(1), button(1), image(1)], columns=2, anchor="product"),
        features(),
        section(
            [
                *(image(2), heading(2, 3), rich_text(2)),
                *(image(3), heading(3, 3), rich_text(3)),
                *(image(4), heading(4, 3), rich_text(4)),
            ],
            columns=3,
            background="surface",
        ),
        stats(),
        section([heading(5), rich_text(5), button(2), button(3, "outline"), image(5)], columns=2),
        pricing(),
        testimonials(),
        section([heading(6), rich_text(6), video()], columns=1, anchor="demo"),
        cta_banner(),
        faq(),
        section([heading(7), rich_text(7), contact_form()], columns=2, anchor="contact"),
        spacer(),
        footer(),
    ]


def long_page() -> list[dict]:
    """100 components: the landing page's 40, then six two-column sections of case studies (10 each)."""
    nodes = landing_page()
    chrome_end = nodes.pop()
    for n in range(6):
        base = 10 + 3 * n
        nodes.append(
            section(
                [
                    *(heading(base), rich_text(base), image(base), button(base + 1, "secondary")),
                    *(heading(base + 1, 3), rich_text(base + 1), image(base + 1), rich_text(base + 2)),
                    button(base + 2),
                ],
                columns=2,
                background="surface" if n % 2 else "default",
            )
        )
    nodes.append(chrome_end)
    return nodes


def count(nodes: list[dict]) -> int:
    return sum(1 + count(node.get("children") or []) for node in nodes)
