"""Deportee notifications from New Zealand agencies to Pacific partners."""
