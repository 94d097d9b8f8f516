"""Import every model module so the metadata is complete (migrations, create_app)."""

from app.audit.models import AuditEntry  # noqa: F401
from app.auth.models import (  # noqa: F401
    ApiToken,
    LoginEvent,
    LoginThrottle,
    User,
    UserSession,
    user_collective,
)
from app.divisions.models import Collective, Division  # noqa: F401
from app.imports import models as import_models  # noqa: F401
from app.leases import models as lease_models  # noqa: F401
from app.market import models as market_models  # noqa: F401
from app.notify import models as notify_models  # noqa: F401
from app.registry import models as registry_models  # noqa: F401
from app.registry.versioning import RegistryObject  # noqa: F401
from app.settlement import models as settlement_models  # noqa: F401
