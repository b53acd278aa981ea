"""Demo data: a realistic Chinese shop's cases in every state, fast enough for a million cases.

``catalog`` (the static vocabulary: products, names, reasons), ``generator`` (reference data and the story of each
case), ``writers`` (bulk_create, or binary COPY on PostgreSQL). May import models, the workflow rules and the
services it builds reference data with; never a door.
"""
