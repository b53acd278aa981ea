"""The staff workspace door: server-rendered pages for agents, QC, supervisors and finance.

``urls``, ``views/`` (queue and board, case page, QC bench, approvals, payouts, risk customers; the actions'
forms come from the registry, ``aftersales.workflow.forms``), ``context_processors`` (the header's links). May import services, selectors, the workflow registry
and models; never the other doors (``api``, ``admin``).
"""
