"""What runs on its own: the rules engine, the emotion radar, the risk facts, routing and SLA targets, the
deadline services and the background jobs that sweep them.

``rules`` (conditions, actions, dry run), ``radar`` (jieba: urgency, abusive words, keywords), ``risk``
(customer facts, claimant and crisis reasons), ``routing`` (priority and SLA, queue and assignee, the crisis
protocol, rule actions), ``deadlines`` (overdue stage alerts, missed SLA targets), ``jobs`` (the sweeps and the
job table that ``run_jobs`` and Celery beat read). May import models, the workflow registry, services,
notifications and selectors; never a door (``web``, ``api``, ``admin``).
"""
