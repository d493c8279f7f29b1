"""People and systems that use the portal: users, sign-in, second factor, API tokens."""
