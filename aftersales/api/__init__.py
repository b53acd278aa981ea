"""The REST API (``/api/v1/``): channel systems with API keys, staff with their session. Thin views over
the same services as the pages; the staff actions are generated from the transition registry; errors map once
(409 not allowed, 403, 400 naming the fields). JSON bodies only. May import services, selectors, the workflow
registry and models; never the other doors (``web``, ``admin``)."""
