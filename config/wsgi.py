import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _warn_at_start() -> None:
    """The server does not run `manage.py check`: log the checks that matter in production once, at start."""
    from django.conf import settings
    from django.core import checks

    if settings.DEBUG:
        return
    for message in checks.run_checks(tags=[checks.Tags.security], databases=["default"]):
        logging.getLogger("config.wsgi").warning("%s: %s (%s)", message.id, message.msg, message.hint or "")


_warn_at_start()
