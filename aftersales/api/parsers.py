"""The API's body parsers. Kept apart from ``errors`` on purpose: DRF imports the parsers named in its settings
while ``rest_framework.views`` is being imported, so this module must not import that one (a cycle that broke
``check --deploy`` when its CSRF-view check happened to run first)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested too deeply for Python's parser is bad input (400), not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
