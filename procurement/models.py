"""Models of the procurement service (its own tables arrive with a later issue)."""
