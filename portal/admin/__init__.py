"""Administration of organisations (admin) and users (admin, and org-admin for its own)."""
