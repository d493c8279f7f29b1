"""``flask --app app translations export [--language xx] [--output DIR]``: the accepted wordings,
merged into the repository's catalogues (``translations/<xx>/LC_MESSAGES/messages.po``) in the same
file format ``python -m portal.translate update`` writes, so that they can be committed. A plural
message's accepted forms become its ``msgstr[n]``, in the number and order of the catalogue's
``Plural-Forms`` rule."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from portal.translate import TRANSLATIONS, _po_bytes, _read
from portal.wording.messages import REVIEWABLE_LANGUAGES, catalogue_key
from portal.wording.overrides import wordings

translations_cli = AppGroup("translations", help="Wordings suggested by translators and accepted.")


def export(language: str, output: Path) -> int:
    """Write ``language``'s catalogue with its accepted wordings to ``output``; the number applied."""
    source = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not source.exists():
        raise click.ClickException(f"{source} does not exist: run `python -m portal.translate update`.")
    catalog = _read(source)
    accepted = wordings().accepted(language)
    applied = 0
    for message in catalog:
        if not message.id:
            continue
        plural = not isinstance(message.id, str)
        wording = accepted.get(catalogue_key(message.context, message.id[0] if plural else message.id))
        if plural != isinstance(wording, tuple) or (plural and len(wording) != catalog.num_plurals):
            continue  # accepted when the message (or the language's rule) was different
        if wording is not None and (message.string != wording or message.fuzzy):
            message.string = wording
            message.flags.discard("fuzzy")
            applied += 1
    target = output / language / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_po_bytes(catalog))
    return applied


@translations_cli.command("export")
@click.option("--language", "languages", multiple=True, type=click.Choice(REVIEWABLE_LANGUAGES),
              help="Only this language (repeatable); default every catalogue.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write <DIR>/<language>/LC_MESSAGES/messages.po here; default the repository's translations/.")
def export_command(languages: tuple[str, ...], output: Path | None) -> None:
    """Merge the accepted wordings into the catalogues, for the repository."""
    for language in languages or REVIEWABLE_LANGUAGES:
        applied = export(language, output or TRANSLATIONS)
        click.echo(f"{language}: {applied} accepted wording(s) written to "
                   f"{(output or TRANSLATIONS) / language / 'LC_MESSAGES' / 'messages.po'}")
