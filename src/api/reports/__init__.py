"""The monthly accountability report (DESIGN §11) as HTML, XLSX and Markdown.

``projections.reports`` counts the figures into the report JSON; these functions only show it.
Each takes that JSON, the months so far for the progress chart (``[{"month", "trainee_times",
"completers"}, …]``) and a language, and returns bytes that depend on nothing else: the same
inputs give the same bytes on any machine, at any time.
"""

from api.reports.html import render_html
from api.reports.markdown import render_markdown
from api.reports.xlsx import render_xlsx

__all__ = ["render_html", "render_markdown", "render_xlsx"]
