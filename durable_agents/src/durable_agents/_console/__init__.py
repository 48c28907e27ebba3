"""The agent console: a page served by the app itself, and the read-only lists it shows.

``bp`` holds the page's routes (``_page``), the lists' (``_lists``) and a run's trace id (``_traces``), so the app
registers one blueprint.
"""

from . import _lists, _traces  # noqa: F401 - their routes join bp
from ._page import bp

__all__ = ["bp"]
