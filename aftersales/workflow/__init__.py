"""The workflow as data and pure rules: no queries, no I/O.

``transitions`` (the transition registry: per transition and action its label, service, form, serializer,
customer message, confirm step and roles, and the stage clocks), ``forms`` and ``serializers`` (each action's
input, field for field its service's keyword arguments), ``policy`` (the return window, priority from
urgency × impact, quick-refund eligibility), ``suggestions`` (the suggested compensation), ``money`` (rounding
and display of CNY). May import models and ``aftersales.permissions`` (the roles); never a service, a reader or
a door.
"""
