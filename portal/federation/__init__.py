"""Federated sign-in: each partner organisation's own OpenID Connect identity provider."""
