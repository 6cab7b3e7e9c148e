"""A small inline SVG icon set: the Feature icon names, social networks and a few interface marks.

Inline, so a page needs no icon font or sprite request; drawn on a 24 by 24 grid with strokes in
currentColor, so an icon takes the colour of the text around it.
"""

from markupsafe import Markup

_STROKE = (
    '<svg class="{cls}" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" '
    'stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">'
    "{body}</svg>"
)

_PATHS = {
    # Feature icons (builder.components.types.Feature.icon).
    "bolt": '<path d="M13 2.5 4.5 13.5H11l-1 8 8.5-11H12z"/>',
    "shield": (
        '<path d="M12 3 19.5 6v5.5c0 4.6-3.2 8.4-7.5 9.5-4.3-1.1-7.5-4.9-7.5-9.5V6z"/><path d="m9 12 2.2 2.2L15.5 10"/>'
    ),
    "chart": '<path d="M4 4v16h16"/><path d="M8.5 16v-4.5M12.5 16V8M16.5 16v-6.5"/>',
    "heart": '<path d="M12 20s-7.5-4.6-7.5-10.2A4.3 4.3 0 0 1 12 7.2a4.3 4.3 0 0 1 7.5 2.6C19.5 15.4 12 20 12 20z"/>',
    "star": '<path d="m12 3.5 2.6 5.4 5.9.8-4.3 4.1 1 5.9-5.2-2.8-5.2 2.8 1-5.9-4.3-4.1 5.9-.8z"/>',
    "clock": '<circle cx="12" cy="12" r="8.5"/><path d="M12 7.5V12l3 2"/>',
    "globe": (
        '<circle cx="12" cy="12" r="8.5"/><path d="M3.5 12h17"/>'
        '<path d="M12 3.5c2.3 2.4 3.5 5.2 3.5 8.5s-1.2 6.1-3.5 8.5c-2.3-2.4-3.5-5.2-3.5-8.5S9.7 5.9 12 3.5z"/>'
    ),
    "users": (
        '<circle cx="9" cy="8.5" r="3.5"/><path d="M3 19.5c.6-3.3 3-5 6-5s5.4 1.7 6 5"/>'
        '<path d="M15.5 5.2a3.5 3.5 0 0 1 0 6.6M17.5 14.8c1.8.7 3 2.2 3.5 4.7"/>'
    ),
    "check": '<circle cx="12" cy="12" r="8.5"/><path d="m8.2 12.3 2.5 2.5 5.1-5.3"/>',
    "mail": '<rect x="3" y="5" width="18" height="14" rx="2.5"/><path d="m3.8 7 8.2 6 8.2-6"/>',
    "phone": (
        '<path d="M6 3.5h3l1.6 4.3-2.1 1.4a10.5 10.5 0 0 0 6.3 6.3l1.4-2.1 4.3 1.6v3a2 2 0 0 1-2.2 2'
        'A16.5 16.5 0 0 1 4 5.7a2 2 0 0 1 2-2.2z"/>'
    ),
    "leaf": (
        '<path d="M20 4C10.5 4 4.5 8.8 4.5 15.5c0 1.5.3 3 1 4.5C13.5 20 20 15.5 20 4z"/>'
        '<path d="M5.5 20C8 15.5 11.5 12 15.5 9.5"/>'
    ),
    "gift": (
        '<rect x="3.5" y="8" width="17" height="4" rx="1"/><path d="M5 12v8.5h14V12M12 8v12.5"/>'
        '<path d="M12 8C11 4.5 9.5 3.5 8.2 3.7 6.5 4 6.3 6.8 8.3 8M12 8c1-3.5 2.5-4.5 3.8-4.3 1.7.3 1.9 3.1-.1 4.3"/>'
    ),
    "calendar": '<rect x="3.5" y="5" width="17" height="15.5" rx="2.5"/><path d="M3.5 10h17M8 3v4M16 3v4"/>',
    "map": '<path d="M12 21s-7-6-7-11.5a7 7 0 0 1 14 0C19 15 12 21 12 21z"/><circle cx="12" cy="9.5" r="2.5"/>',
    "sparkles": (
        '<path d="m11 3.5 1.7 4.8 4.8 1.7-4.8 1.7L11 16.5l-1.7-4.8L4.5 10l4.8-1.7z"/>'
        '<path d="m18 14 .8 2.2 2.2.8-2.2.8L18 20l-.8-2.2-2.2-.8 2.2-.8z"/>'
    ),
    # Social networks (builder.components.types.SocialLink.network).
    "x": '<path d="M4.5 4h4.2l10.8 16h-4.2zM19.5 4l-6.2 7M4.5 20l6.2-7"/>',
    "linkedin": (
        '<rect x="3" y="3" width="18" height="18" rx="3.5"/>'
        '<path d="M7.5 10.5V17M7.5 7v.01M11.5 17v-6.5M11.5 13.5a2.8 2.8 0 0 1 5.5 0V17"/>'
    ),
    "facebook": '<path d="M15.5 3.5h-2A4 4 0 0 0 9.5 7.5v13M6.5 11h8.5"/>',
    "instagram": (
        '<rect x="3.5" y="3.5" width="17" height="17" rx="5"/><circle cx="12" cy="12" r="4"/><path d="M17 7v.01"/>'
    ),
    "youtube": '<rect x="2.5" y="5.5" width="19" height="13" rx="4"/><path d="m10.3 9.3 4.4 2.7-4.4 2.7z"/>',
    "tiktok": '<path d="M13.5 3.5v11.3a3.4 3.4 0 1 1-3.4-3.4"/><path d="M13.5 3.5c.6 2.6 2.5 4.3 5 4.5"/>',
    "github": (
        '<path d="M5.5 10.5V4.5l3.6 2.4a9.4 9.4 0 0 1 5.8 0l3.6-2.4v6c0 4-2.9 6.5-6.5 6.5s-6.5-2.5-6.5-6.5z"/>'
        '<path d="M12 17v3.5M9.5 11.5v.01M14.5 11.5v.01"/>'
    ),
    # Interface marks.
    "image": (
        '<rect x="3" y="4.5" width="18" height="15" rx="2.5"/><circle cx="8.5" cy="9.5" r="1.8"/>'
        '<path d="m4 18 5-5 3.5 3.5 2.5-2.5 5 4.5"/>'
    ),
    "play": '<circle cx="12" cy="12" r="9"/><path d="m10 8.5 5.5 3.5-5.5 3.5z"/>',
    "tick": '<path d="m5 12.5 4.5 4.5L19 7.5"/>',
    "arrow": '<path d="M5 12h14M13 6l6 6-6 6"/>',
    "download": '<path d="M12 4v11M7 10.5l5 5 5-5M5 20h14"/>',
}

_STAR = (
    '<svg class="sf-star{state}" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">'
    '<path fill="currentColor" d="m12 2.8 2.8 5.8 6.3.9-4.6 4.4 1.1 6.3L12 17.2l-5.6 3 1.1-6.3-4.6-4.4 6.3-.9z"/></svg>'
)

SOCIAL_NAMES = {
    "x": "X",
    "linkedin": "LinkedIn",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "tiktok": "TikTok",
    "github": "GitHub",
}


def icon(name: str, cls: str = "sf-icon") -> Markup:
    """An icon by name; an unknown name (a config written before the set changed) gets a check mark."""
    return Markup(_STROKE.format(cls=cls, body=_PATHS.get(name, _PATHS["check"])))  # noqa: S704 (constants only)


def stars(rating: int) -> Markup:
    """Five stars, the first `rating` filled; the caller gives the group its accessible label."""
    return Markup("".join(_STAR.format(state="" if i < rating else " sf-star--off") for i in range(5)))  # noqa: S704
