"""The Partner Sharing Portal: feature packages plus small shared modules (policy, audit, i18n)."""
