"""The tamper-evident audit trail: who did what to which object, when, from where and why."""
