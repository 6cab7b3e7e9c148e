"""Tasks that fire schedule triggers."""
