"""What the prediction tests share."""

from __future__ import annotations

from datetime import date

AS_OF = date(2025, 6, 30)
"""The last day of the small demo company in the store."""
