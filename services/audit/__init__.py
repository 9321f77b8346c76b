"""The append-only audit log of sensitive actions."""
