"""The REST API (``/api/v1/``): channel systems with API keys, staff with their session. Thin views over
the same services as the pages; errors map once (409 not allowed, 403, 400 naming the fields)."""
