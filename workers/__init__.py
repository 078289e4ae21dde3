"""Celery tasks and stream supervisors that drive ``analytics`` for ``cameras``."""
