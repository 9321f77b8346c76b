"""Models of the refugee_reception service (its own tables arrive with a later issue)."""
