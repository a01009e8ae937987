"""Pages of the registry: a thin blueprint over ``assets.services`` (writes) and ``assets.queries``.

Every form page answers 400 with the errors beside the fields and everything typed kept when
the form or a service rule refuses it; a list answers only its table part to htmx requests.
One module per noun (assets, locations, network, plan, install), all on the one blueprint of
``common``.
"""

from __future__ import annotations

from assets.views import asset_pages, install, locations, network, plan
from assets.views.common import bp

__all__ = ["asset_pages", "bp", "install", "locations", "network", "plan"]
