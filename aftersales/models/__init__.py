"""The after-sales domain models (one package; import them from here).

- ``cases``: cases, lines, events, inspections, compensations, and the configuration they hang on
  (queues, problem categories, policies, agent authority);
- ``automation``: SLA targets, automation rules, the emotion lexicon, risk thresholds;
- ``notifications``: the outbox and the chat-webhook endpoints.
"""

from aftersales.models.automation import *  # noqa: F403
from aftersales.models.automation import __all__ as _automation_all
from aftersales.models.cases import *  # noqa: F403
from aftersales.models.cases import __all__ as _cases_all
from aftersales.models.notifications import *  # noqa: F403
from aftersales.models.notifications import __all__ as _notifications_all

__all__ = [*_cases_all, *_automation_all, *_notifications_all]

# Referenced by name from migrations (aftersales.models._photo_path).
from aftersales.models.cases import _photo_path  # noqa: F401
from aftersales.models.templates import *  # noqa: F403
from aftersales.models.templates import __all__ as _templates_all

__all__ += _templates_all
from aftersales.models.api import *  # noqa: E402, F403
from aftersales.models.api import __all__ as _api_all  # noqa: E402

__all__ += _api_all
