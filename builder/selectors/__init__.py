"""Reads for the builder."""

from builder.selectors.pages import page_tree, tree_from_rows

__all__ = ["page_tree", "tree_from_rows"]
