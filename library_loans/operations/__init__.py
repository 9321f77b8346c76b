"""The library's domain operations: plain functions that change models and flush."""
