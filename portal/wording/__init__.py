"""Review of the translations by the people who speak them.

Members of Pacific and New Zealand government organisations whom their org-admin names translators
for a language (``TranslatorLanguage``) may, while reading the portal in that language, suggest a
better wording for any message or confirm one as correct. Suggestions queue for the portal admin;
an accepted wording overrides the compiled catalogue in every process at once (``overrides``) and
is exported to the repository's ``.po`` files (``flask --app app translations export``).

A suggestion carries the message (msgid and context), the language and the proposed wording: never
anything from the page the translator was reading.
"""
