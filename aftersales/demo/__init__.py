"""Demo data: a realistic Chinese shop's cases in every state, fast enough for a million cases.

``reference`` (categories, queues, policies, staff, templates, rules: created idempotently), ``generator`` (the
chunked, pipelined run and each chunk's rows), ``story`` (one case's path through the workflow), ``common``
(shorthands, the relative clock, fast weighted choices), ``catalog`` (the static vocabulary: products, names,
reasons), ``writers`` (bulk_create, or binary COPY on PostgreSQL). May import models, the workflow rules and the
services it builds reference data with; never a door.
"""
