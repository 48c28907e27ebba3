"""The agent console: a page served by the app itself, and the read-only lists it shows.

``bp`` holds the page's routes (``_page``) and the lists' (``_lists``), so the app registers one blueprint.
"""

from . import _lists  # noqa: F401 - its routes join bp
from ._page import bp

__all__ = ["bp"]
