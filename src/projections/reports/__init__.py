"""Reports counted from the read models (DESIGN §11): the monthly accountability report.

Importing the package registers the report's facts (:mod:`.facts`: a table and a hook, listed in
:data:`projections.runner.registry.PLUGINS`); the figures are :mod:`.monthly`.
"""

from projections.reports import facts as facts  # registers pj_report_facts and its hook

__all__ = ["facts"]
