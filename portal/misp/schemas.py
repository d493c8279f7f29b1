"""The MISP event an API caller imports, declared for the OpenAPI document; ``importer.parse``
checks it (MISP's export format is MISP's, so the importer reads the body itself)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MispEvent(BaseModel):
    """The event: ``info`` is its title; its ``Attribute`` list (and those of its ``Object`` list) become
    indicators where the portal has a type for them, the rest are listed in the body. What MISP puts
    elsewhere, or in another shape, is passed over, not refused."""

    model_config = ConfigDict(extra="allow")

    info: str = Field(description="The event's title.")


class MispEventInput(BaseModel):
    """A MISP event document, as MISP exports it: ``{"Event": {"info", "Attribute", …}}``."""

    model_config = ConfigDict(extra="allow")

    Event: MispEvent
