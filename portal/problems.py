"""The three ways a feature's service refuses a request, shared so that pages and the API answer
them alike: 400 with field errors, 403, 409. Whatever raised them, nothing was stored."""
from __future__ import annotations


class Invalid(Exception):
    """Field errors, CONTRACT.md style: ``{"field": ["…"]}``."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.fields = fields


class NotAllowed(Exception):
    """The person may see the thing but not do this (403)."""


class Conflict(Exception):
    """The thing is not in a state that allows this, or a key was reused (409)."""
