"""Email content: blocks, personalization, and compiling them into a message per recipient."""

from campaigns.content.blocks import BLOCK_TYPES, content_clean
from campaigns.content.personalization import contact_context, personalization_catalog
from campaigns.content.render import CompiledEmail, RenderedEmail, compile_email

__all__ = [
    "BLOCK_TYPES",
    "CompiledEmail",
    "RenderedEmail",
    "compile_email",
    "contact_context",
    "content_clean",
    "personalization_catalog",
]
