"""The shared look of every service: base layout, styles, htmx, start page."""
