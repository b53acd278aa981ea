"""The workflow as data and pure rules: no queries, no I/O.

``transitions`` (the transition registry: labels, customer messages, stage clocks), ``policy`` (the return
window, priority from urgency × impact, quick-refund eligibility), ``suggestions`` (the suggested compensation),
``money`` (rounding and display of CNY). May import models only.
"""
