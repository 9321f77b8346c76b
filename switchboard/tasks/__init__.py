"""Switchboard tasks for the worker: delivering messages and syncing directory sources."""

from switchboard.tasks import messages, sync  # noqa: F401 - registers the tasks
