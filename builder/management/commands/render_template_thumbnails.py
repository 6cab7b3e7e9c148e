"""Screenshot the home page of every library template into static/builder/thumbnails/<slug>.png.

Renders from the library files rather than the database, so thumbnails can be made before (and
independently of) load_templates. Needs Playwright and a Chromium binary.
"""

import mimetypes
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from builder.rendering import render_library_page
from builder.services.library import LIBRARY_DIR, THUMBNAIL_DIR, TemplateFileError, template_file_parse

VIEWPORT = {"width": 1280, "height": 800}
#: 1280x800 at this scale is a 480x300 image, so no resizing library is needed.
SCALE = 0.375
#: Pages are served from a made-up origin so that their /static/… paths resolve to this checkout.
ORIGIN = "http://template.invalid"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def template_home_html(fields: dict) -> str:
    """A parsed library template's home page as a preview document."""
    home = next(page for page in fields["content"]["pages"] if page["is_home"])
    return render_library_page(name=fields["name"], theme=fields["theme"], content=fields["content"], page=home)


class Command(BaseCommand):
    help = "Render a 480x300 PNG of each library template's home page into static/builder/thumbnails/."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="Only these templates (default: all).")
        parser.add_argument(
            "--chromium", default=shutil.which("chromium") or "/usr/bin/chromium", help="Chromium binary."
        )

    def handle(self, *args, slugs, chromium, **options):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise CommandError("Playwright is not installed (pip install playwright).") from None
        if not Path(chromium).is_file():
            raise CommandError(f"No Chromium at {chromium}: install it (apt-get install chromium) or pass --chromium.")

        files = sorted(LIBRARY_DIR.glob("*.json"))
        if slugs:
            files = [file for file in files if file.stem in slugs]
            if missing := set(slugs) - {file.stem for file in files}:
                raise CommandError(f"No library template named {', '.join(sorted(missing))}.")
        static_root = (Path(settings.BASE_DIR) / "static").resolve()
        out_dir = static_root / THUMBNAIL_DIR
        out_dir.mkdir(parents=True, exist_ok=True)

        documents: dict[str, str] = {}

        def serve(route):
            path = urlsplit(route.request.url).path
            if path.startswith("/static/"):
                file = (static_root / path.removeprefix("/static/")).resolve()
                if file.is_relative_to(static_root) and file.is_file():
                    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                    return route.fulfill(body=file.read_bytes(), content_type=content_type)
            elif path in documents:
                return route.fulfill(body=documents[path], content_type="text/html; charset=utf-8")
            # Nothing leaves the machine: a thumbnail must not depend on the network.
            return route.abort()

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=VIEWPORT, device_scale_factor=SCALE)
                context.route("**/*", serve)
                page = context.new_page()
                for file in files:
                    try:
                        fields = template_file_parse(file, file.read_bytes())
                    except TemplateFileError as exc:
                        raise CommandError(str(exc)) from None
                    documents.clear()
                    documents["/"] = template_home_html(fields)
                    page.goto(f"{ORIGIN}/", wait_until="load")
                    target = out_dir / f"{fields['slug']}.png"
                    page.screenshot(path=str(target), animations="disabled")
                    self.stdout.write(f"{target.relative_to(static_root)} ({target.stat().st_size // 1024} KB)")
            finally:
                browser.close()
        self.stdout.write(self.style.SUCCESS(f"Rendered {len(files)} thumbnail(s)."))
