"""Models of the switchboard service (its own tables arrive with #3)."""
