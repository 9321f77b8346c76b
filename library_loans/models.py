"""Models of the library_loans service (its own tables arrive with #4)."""
