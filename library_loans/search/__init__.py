"""Searching the shared catalogue."""
