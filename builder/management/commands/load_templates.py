from django.core.management.base import BaseCommand, CommandError

from builder.services.library import TemplateFileError, template_library_load


class Command(BaseCommand):
    help = "Create or update the template library from builder/template_library/*.json (unchanged files are skipped)."

    def handle(self, *args, **options):
        try:
            result = template_library_load()
        except TemplateFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Templates: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
            )
        )
