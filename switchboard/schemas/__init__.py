"""Marshmallow schemas of the switchboard API, one module per feature."""
