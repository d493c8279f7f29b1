"""Answers of the API's own routes (``meta.py``), declared for the OpenAPI document."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from portal.payloads import CLASSIFICATIONS, Page


class Me(BaseModel):
    email: str
    organisation: str
    roles: list[str]
    clearance: Literal[CLASSIFICATIONS]  # type: ignore[valid-type]
    scopes: list[str]


class Typology(BaseModel):
    code: str
    label: str


class TypologyPage(Page):
    items: list[Typology]
