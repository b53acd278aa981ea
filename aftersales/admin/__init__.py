"""The Django admin: the supervisors' door (configuration, versions, and the case actions through the services).

Each module registers its models: ``configuration`` (queues, categories, policies, authority), ``cases`` (cases,
events, inspections, compensations and their action pages), ``automation`` (SLA, rules, lexicon, risk,
notifications, webhooks), ``templates`` (reply templates and health reports), ``api`` (channel keys), ``orders`` (the shop's orders,
with their import from a file);
``versions`` holds the history/diff mixin they share. May import services, selectors, the workflow registry and
models; never the other doors (``web``, ``api``).
"""

from aftersales.admin import (  # noqa: F401 - registers the models
    api,
    automation,
    calendars,
    cases,
    configuration,
    customers,
    orders,
    templates,
)
