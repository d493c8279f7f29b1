"""The MISP event an API caller imports, declared for the OpenAPI document; ``importer.parse``
checks it (MISP's export format is MISP's, so the importer reads the body itself)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from portal.payloads import Payload


class MispAttribute(Payload):
    type: str
    value: str


class MispEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    info: str = Field(description="The event's title.")
    Attribute: list[MispAttribute] = Field(default_factory=list, description="Attributes that become indicators "
                                           "where the portal has a type for them; the rest are listed in the body.")


class MispEventInput(BaseModel):
    """A MISP event document, as MISP exports it: ``{"Event": {"info", "Attribute", …}}``."""

    model_config = ConfigDict(extra="allow")

    Event: MispEvent
