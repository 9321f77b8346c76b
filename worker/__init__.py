"""The one Celery app of Samverkan, shared by every service's ``tasks.py``."""
