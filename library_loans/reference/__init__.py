"""Reference data of the library service (the demo catalogue)."""
