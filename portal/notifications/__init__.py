"""Delivering the outbox: inbox, e-mail and webhooks; preferences, digests, dead letters."""
