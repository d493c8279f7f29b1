"""Suspicious-activity submissions from partners to agencies."""
