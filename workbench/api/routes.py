"""API routes are added by the modules imported here (one line per module)."""

from __future__ import annotations

from workbench.api import accounts  # noqa: F401
from workbench.api import adjudication  # noqa: F401
from workbench.api import agreement  # noqa: F401
from workbench.api import documents  # noqa: F401
from workbench.api import evaluation  # noqa: F401
from workbench.api import exports  # noqa: F401
from workbench.api import projects  # noqa: F401
from workbench.api import suggestions  # noqa: F401
from workbench.api import tokens  # noqa: F401
# A plain import: ``from workbench.api import annotations`` would return the
# package's ``from __future__ import annotations`` feature, not this module.
import workbench.api.annotations  # noqa: E402,F401
