"""Organisations: government agencies, private partners and Pacific agencies."""
