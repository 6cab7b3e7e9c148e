"""A site's design tokens and SEO defaults, typed. The renderer turns tokens into CSS variables."""

from typing import Literal

from pydantic import Field

from builder.components.base import Color, Config, Text, Url, validate_config

#: Font choices map to system and web-safe stacks, so a page never loads fonts from a CDN.
FONT_STACKS = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    "humanist": '"Seravek", "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif',
    "geometric": 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif',
    "rounded": ('ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, "Arial Rounded MT", sans-serif'),
    "serif": 'Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif',
    "classical": '"Iowan Old Style", "Palatino Linotype", "URW Palladio L", P052, Palatino, serif',
    "slab": 'Rockwell, "Rockwell Nova", "Roboto Slab", "DejaVu Serif", "Sitka Small", serif',
    "mono": 'ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, "DejaVu Sans Mono", monospace',
}
Font = Literal["system", "humanist", "geometric", "rounded", "serif", "classical", "slab", "mono"]


class Colors(Config):
    primary: Color = "#4f46e5"
    secondary: Color = "#0ea5e9"
    background: Color = "#ffffff"
    surface: Color = "#f8fafc"
    text: Color = "#0f172a"
    muted: Color = "#64748b"


class Fonts(Config):
    heading: Font = "system"
    body: Font = "system"


class Theme(Config):
    colors: Colors = Field(default_factory=Colors)
    fonts: Fonts = Field(default_factory=Fonts)
    #: Corner radius of buttons, cards and inputs, in pixels.
    radius: int = Field(8, ge=0, le=32)
    spacing: Literal["compact", "comfortable", "spacious"] = "comfortable"


class SeoDefaults(Config):
    #: Appended to each page's title: "Pricing · Acme".
    title_suffix: Text = ""
    description: Text = ""
    og_image: Url = ""


def theme_clean(value) -> dict:
    return validate_config(Theme, value, "theme")


def seo_clean(value) -> dict:
    return validate_config(SeoDefaults, value, "seo")


def theme_schema() -> dict:
    return Theme.model_json_schema()
