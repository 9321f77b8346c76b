"""The Samverkan platform core: tenancy, identity, audit, the app factory and the CLI."""
