"""Extraction markers: a string is marked where it is defined and translated where it is used.

Kept apart from :mod:`portal.i18n` (which re-exports them) so that the data modules i18n itself
reads, such as ``portal/locale_names.py``, can mark their strings without an import cycle.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it with gettext where it is used."""
    return message


def NP_(context: str, message: str) -> str:
    """Mark a string with a context for extraction; translate it with pgettext where it is used."""
    return message
