"""Carrier tracking: the providers (the aggregators merchants hold accounts with) that push a parcel's scans to us
or answer when asked, behind one interface (``providers``).

Speaks the providers' published protocols; writes nothing (``aftersales.services.shipments`` records the scans).
May import models, the workflow rules and Django settings; never a service, a door or the automation.
"""
