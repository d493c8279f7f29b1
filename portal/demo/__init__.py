"""A believable, fictional demonstration world. Every person and e-mail address here is invented."""
