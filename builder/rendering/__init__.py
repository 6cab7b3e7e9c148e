"""The one page renderer: a component tree to a complete HTML5 document (see document.py)."""

from builder.rendering.document import NavPage, PageData, SiteData, render_document, theme_css
from builder.rendering.page import render_library_page, render_page

__all__ = ["NavPage", "PageData", "SiteData", "render_document", "render_library_page", "render_page", "theme_css"]
