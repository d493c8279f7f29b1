"""The scorecard API's query and answer, declared once (see ``portal/payloads.py``)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from portal.payloads import Payload

#: As ``periods._PERIOD`` (ASCII digits); a financial year's second part is the next year's last two digits.
PERIOD = r"^([0-9]{4}-(Q[1-4]|0[1-9]|1[0-2])|FY[0-9]{4}/[0-9]{2})$"


class ScorecardQuery(Payload):
    period: str | None = Field(None, pattern=PERIOD, description="2026-Q4, 2026-11 or FY2026/27 (in the reporting "
                                                                  "time zone); default the current quarter.")


class ScorecardOut(BaseModel):
    organisation: str
    period: str
    proactiveness: float = Field(ge=0, le=100)
    relevance: float = Field(ge=0, le=100)
    frequency: float = Field(ge=0, le=100)
    responsiveness: float = Field(ge=0, le=100)
    overall: float = Field(ge=0, le=100)
    target: float = Field(ge=0, le=100)
    shares: int
    ratings: int
    responses: int
    median_response_hours: float | None
    computed_at: str | None
    open_items: int = Field(description="Items open past the target time, counted in responsiveness at their age "
                                        "(at the close, for a closed period).")
    closed: bool
    meets_standard: bool
    time_zone: str = Field(description="The reporting time zone of the periods.")
