"""Two-way threat bulletins."""
