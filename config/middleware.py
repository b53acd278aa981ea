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


class ApiBodyLimitMiddleware:
    """An API request whose body is larger than the API takes is refused before it is read, with a JSON 413 that
    gives the limit: ``API_MAX_JSON_BYTES`` for JSON, ``API_MAX_UPLOAD_BYTES`` for the evidence upload (multipart).
    (DRF reads the body from the socket itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE would not stop it.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            from django.conf import settings
            from django.http import JsonResponse
            from django.utils.translation import gettext as _

            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
            limit = settings.API_MAX_UPLOAD_BYTES if multipart else settings.API_MAX_JSON_BYTES
            if length > limit:
                return JsonResponse(
                    {
                        "detail": _("The request body is %(size)s bytes; this API takes at most %(limit)s bytes.")
                        % {"size": length, "limit": limit},
                        "code": "too_large",
                        "limit": limit,
                    },
                    status=413,
                    json_dumps_params={"ensure_ascii": False},
                )
        return self.get_response(request)
