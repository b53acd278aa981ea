"""Reply templates (话术): rendering with the placeholder whitelist, matching to a case, sending with the version
used, effect data per version, and the monthly template health report.

``rendering`` (placeholders and values), ``library`` (matching, sending, effects), ``health`` (the monthly
report). May import models, services and the workflow rules; never a door.
"""
