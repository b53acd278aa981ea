"""The after-sales domain models (one package; import them from here).

- ``choices``: case states and their groups, request types, priorities, compensation states;
- ``configuration``: queues, problem categories, policies (versioned), agent authority, case numbers;
- ``cases``: cases, their lines, events and reason keywords;
- ``qc``: inspections and their photos;
- ``evidence``: the customer's photos and videos for a case;
- ``shipments``: the parcels of a case (the customer's return, goods sent back out);
- ``compensations``: the compensation ledger;
- ``care``: follow-up visits after a case and a complaint's cause analysis;
- ``calendars``: service hours, holidays and make-up days, campaign periods with their SLA targets;
- ``automation``: SLA targets, automation rules, the emotion lexicon, risk thresholds;
- ``notifications``: the outbox and the chat-webhook endpoints;
- ``templates``: reply templates, their uses and the monthly health reports;
- ``api``: channel API keys and idempotency records.

May import ``customers`` models; nothing else of the project.
"""

from aftersales.models.api import *  # noqa: F403
from aftersales.models.api import __all__ as _api_all
from aftersales.models.automation import *  # noqa: F403
from aftersales.models.automation import __all__ as _automation_all
from aftersales.models.calendars import *  # noqa: F403
from aftersales.models.calendars import __all__ as _calendars_all
from aftersales.models.care import *  # noqa: F403
from aftersales.models.care import __all__ as _care_all
from aftersales.models.cases import *  # noqa: F403
from aftersales.models.cases import __all__ as _cases_all
from aftersales.models.choices import *  # noqa: F403
from aftersales.models.choices import __all__ as _choices_all
from aftersales.models.compensations import *  # noqa: F403
from aftersales.models.compensations import __all__ as _compensations_all
from aftersales.models.configuration import *  # noqa: F403
from aftersales.models.configuration import __all__ as _configuration_all
from aftersales.models.evidence import *  # noqa: F403
from aftersales.models.evidence import __all__ as _evidence_all

# Referenced by name from migrations (aftersales.models._photo_path, _evidence_path).
from aftersales.models.evidence import _evidence_path  # noqa: F401
from aftersales.models.notifications import *  # noqa: F403
from aftersales.models.notifications import __all__ as _notifications_all
from aftersales.models.qc import *  # noqa: F403
from aftersales.models.qc import __all__ as _qc_all
from aftersales.models.qc import _photo_path  # noqa: F401
from aftersales.models.shipments import *  # noqa: F403
from aftersales.models.shipments import __all__ as _shipments_all
from aftersales.models.templates import *  # noqa: F403
from aftersales.models.templates import __all__ as _templates_all

__all__ = [
    *_api_all,
    *_automation_all,
    *_calendars_all,
    *_care_all,
    *_cases_all,
    *_choices_all,
    *_compensations_all,
    *_evidence_all,
    *_configuration_all,
    *_notifications_all,
    *_qc_all,
    *_shipments_all,
    *_templates_all,
]
