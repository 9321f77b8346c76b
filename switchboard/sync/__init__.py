"""Syncing each municipality's directory sources: HR CSV exports, LDIF, SCIM pushes."""
