"""Language choice: Simplified Chinese unless the user picks another language.

The people using this back office are Chinese merchants' service teams, whose
browsers or operating systems are often set to English. The language follows
only the explicit choice made with the switch in the page header (the
``django_language`` cookie), never the browser's ``Accept-Language``.
"""

from __future__ import annotations


class ExplicitLanguageMiddleware:
    """Placed before ``LocaleMiddleware``: hide ``Accept-Language`` so only the cookie can pick English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
