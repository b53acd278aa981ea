"""Project configuration. The Celery app loads lazily (``config.celery``) so the
default setup needs no broker."""
