"""Marshmallow schemas of the library's API, one module per API module."""
