"""Pages of the translation review: the status of each language (everyone), suggestion mode and the
suggestion forms (translators), the queue (portal admin) and the translator permission (org-admins).

Pages a person may not use do not exist for them (404), as elsewhere in the portal's admin pages."""
from __future__ import annotations

from typing import Any

from babel import numbers as babel_numbers
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import permissions, policy
from portal.accounts.models import User
from portal.accounts.session_auth import recent_auth_required
from portal.accounts.views import safe_next
from portal.extensions import db
from portal.i18n import LANGUAGES, current_language, format_number, formatting_locale
from portal.i18n import gettext as _
from portal.pages import ActionForm, flash_fields
from portal.problems import Conflict, Invalid, NotAllowed
from portal.security import is_api_request
from portal.wording import service
from portal.wording.cli import translations_cli
from portal.wording.messages import (
    REVIEWABLE_LANGUAGES,
    Message,
    find,
    form_source,
    message_key,
    messages,
    placeholders,
    plural_numbers,
)
from portal.wording.models import WordingSuggestion
from portal.wording.overrides import Wordings, wordings

bp = Blueprint("wording", __name__)

#: Session keys: the language being reviewed in suggestion mode; the messages of the last page read.
MODE = "wording_mode"
PAGE = "wording_page"


def language_name(code: str) -> str:
    return LANGUAGES.get(code, (code,))[0]


def percent(value: int) -> str:
    return babel_numbers.format_percent(value / 100, locale=formatting_locale(current_language()))


def current_wording(message: Message, language: str) -> str:
    """The wording in force (a plural message's first form)."""
    return current_forms(message, language)[0]


def current_forms(message: Message, language: str) -> list[str]:
    """The wording in force: a singular message's one, or each plural form of a plural message (asked
    of gettext with a number that takes the form, so the rule in force picks it)."""
    catalogue = wordings().translations(language)
    if not message.is_plural:
        if message.context:
            return [catalogue.upgettext(message.context, message.msgid)]
        return [catalogue.ugettext(message.msgid)]
    forms = []
    for numbers in plural_numbers(language):
        n = numbers[0] if numbers else 2
        if message.context:
            forms.append(catalogue.unpgettext(message.context, message.msgid, message.plural, n))
        else:
            forms.append(catalogue.ungettext(message.msgid, message.plural, n))
    return forms


def form_fields(message: Message, language: str, values: list[str] | None = None,
                errors: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """The wording fields of a message's form: one (``wording``) for a singular message; one per plural
    form (``wording-<n>``), each saying which numbers take it and which parts it must keep."""
    current = current_forms(message, language)
    errors = errors or {}
    if not message.is_plural:
        return [{"name": "wording", "label": None, "current": current[0], "parts": "",
                 "value": values[0] if values else current[0], "errors": errors.get("wording", [])}]
    fields = []
    for form, numbers in enumerate(plural_numbers(language)):
        shown = ", ".join(format_number(n) for n in numbers[:4]) + (", …" if len(numbers) > 4 else "")
        name = f"wording-{form}"
        fields.append({"name": name, "label": _("When the number is %(numbers)s", numbers=shown),
                       "current": current[form],
                       "parts": " ".join(sorted(placeholders(form_source(message, language, form)))),
                       "value": values[form] if values and form < len(values) else current[form],
                       "errors": errors.get(name, [])})
    return fields


def posted_forms(message: Message, language: str) -> list[str]:
    if not message.is_plural:
        return [request.form.get("wording", "")]
    return [request.form.get(f"wording-{form}", "") for form in range(len(plural_numbers(language)))]


def _translator(language: str) -> Any:
    user = policy.reader()
    if not service.may_suggest(user, language):
        abort(404)
    return user


# --- Everyone: how much of each language is reviewed -------------------------------------------

@bp.get("/translations")
def status():
    rows = []
    for code in REVIEWABLE_LANGUAGES:
        done, total = wordings().reviewed(code)
        rows.append({"code": code, "name": language_name(code), "done": done, "total": total,
                     "percent": percent(wordings().reviewed_percent(code))})
    return render_template("wording/status.html", rows=rows)


# --- Translators --------------------------------------------------------------------------------

@bp.post("/translations/mode")
def mode():
    """Turn suggestion mode on or off for the language the translator is reading."""
    language = current_language()
    _translator(language)
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("on") == "1":
        session[MODE] = language
        flash(_("Suggestion mode is on: every page you open now lists its messages for you to improve."), "info")
    else:
        session.pop(MODE, None)
        session.pop(PAGE, None)
        flash(_("Suggestion mode is off."), "info")
    return redirect(safe_next(request.form.get("next")) or url_for("wording.page"))


def _page_messages() -> tuple[str | None, list[Message]]:
    page = session.get(PAGE) or {}
    found = [m for m in (find(key) for key in page.get("keys", [])) if m is not None]
    return safe_next(page.get("path")), found


@bp.get("/translations/page")
def page():
    """Without script: the messages of the page the translator came from, each with its form."""
    language = current_language()
    _translator(language)
    path, found = _page_messages()
    items = [{"message": m, "wording": current_wording(m, language), "fields": form_fields(m, language)}
             for m in found]
    return render_template("wording/page.html", items=items, path=path, language=language,
                           language_label=language_name(language), mode_on=session.get(MODE) == language,
                           form=ActionForm())


@bp.get("/translations/page.json")
def page_json():
    """For the script that marks each message on the page in place (progressive enhancement)."""
    language = current_language()
    _translator(language)
    _path, found = _page_messages()
    items = []
    for m in found:
        url = url_for("wording.message", key=m.key, next=url_for("wording.page"))
        source = f"{m.msgid} / {m.plural}" if m.is_plural else m.msgid
        # A plural message is on the page in one of its forms: each distinct form is looked for.
        for text in dict.fromkeys(current_forms(m, language)):
            items.append({"key": m.key, "text": text, "source": source, "url": url})
    return jsonify({"label": _("Suggest a better wording"), "items": items})


@bp.route("/translations/messages/<key>", methods=["GET", "POST"])
def message(key: str):
    """One message: suggest a better wording, or confirm the one in force."""
    language = request.form.get("language") or current_language()
    found = find(key)
    if found is None:
        abort(404)
    user = _translator(language)
    form = ActionForm()
    errors: dict[str, list[str]] = {}
    wording = posted_forms(found, language)
    back = safe_next(request.values.get("next")) or url_for("wording.page")
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            if request.form.get("action") == "confirm":
                service.confirm(user, found, language, current_forms(found, language))
                notice = _("Thank you: the wording is confirmed as correct.")
            else:
                service.suggest(user, found, language, wording)
                notice = _("Thank you: your wording waits for the portal administrator's review.")
        except Invalid as problem:
            db.session.rollback()
            errors = problem.fields
        except service.TooMany:
            db.session.rollback()
            abort(429)
        except NotAllowed:
            abort(404)
        else:
            db.session.commit()
            flash(notice, "success")
            return redirect(back)
    fields = form_fields(found, language, wording if request.method == "POST" else None, errors)
    return render_template("wording/message.html", message=found, language=language,
                           language_label=language_name(language), fields=fields,
                           errors=errors, form=form, back=back), 400 if errors else 200


# --- The portal admin's queue -------------------------------------------------------------------

def _reviewer() -> Any:
    user = policy.reader()
    if not permissions.may_review_wordings(user):
        abort(404)
    return user


@bp.get("/admin/translations")
def queue():
    _reviewer()
    language = request.args.get("language", "")
    statement = select(WordingSuggestion).where(WordingSuggestion.status == "pending")
    if language in REVIEWABLE_LANGUAGES:
        statement = statement.where(WordingSuggestion.language == language)
    pending = db.session.scalars(statement.order_by(WordingSuggestion.created_at, WordingSuggestion.id)
                                 .limit(200)).all()
    authors = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({s.author_id for s in pending if s.author_id})))}
    items = []
    for suggestion in pending:
        message_ = find_by_text(suggestion)
        items.append({"suggestion": suggestion, "author": authors.get(suggestion.author_id),
                      "language_label": language_name(suggestion.language),
                      "current": current_forms(message_, suggestion.language) if message_ else []})
    return render_template("wording/queue.html", items=items, form=ActionForm(), language=language,
                           languages=[(c, language_name(c)) for c in REVIEWABLE_LANGUAGES])


def find_by_text(suggestion: WordingSuggestion) -> Message | None:
    return find(message_key(suggestion.context, suggestion.msgid))


@bp.post("/admin/translations/<int:suggestion_id>")
@recent_auth_required
def decide(suggestion_id: int):
    actor = _reviewer()
    if not ActionForm().validate_on_submit():
        abort(400)
    suggestion = db.get_or_404(WordingSuggestion, suggestion_id)
    try:
        accept = service.accepts(request.form.get("decision"))
        service.decide(actor, suggestion, accept=accept)
    except Invalid as problem:
        db.session.rollback()
        flash_fields(problem.fields)
        return redirect(url_for("wording.queue"))
    except Conflict as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("wording.queue"))
    db.session.commit()
    flash(_("Accepted: the new wording is in force now.") if accept else _("Rejected."), "success")
    return redirect(url_for("wording.queue", language=request.form.get("language", "")))


# --- Org-admins: who is a translator, for which languages --------------------------------------

@bp.route("/admin/users/<int:user_id>/translator", methods=["GET", "POST"])
@recent_auth_required
def translator(user_id: int):
    manager = policy.reader()
    subject = db.session.scalar(select(User).where(User.id == user_id, permissions.manageable_users(manager)))
    if subject is None or not permissions.may_grant_translator(manager, subject):
        abort(404)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            if service.set_translator_languages(manager, subject, set(request.form.getlist("languages"))):
                db.session.commit()
        except Invalid as problem:
            db.session.rollback()
            flash_fields(problem.fields)
        else:
            flash(_("Translator languages of %(email)s saved.", email=subject.email), "success")
        return redirect(url_for("wording.translator", user_id=subject.id))
    return render_template("wording/translator.html", subject=subject, form=form,
                           granted=service.translator_languages(subject),
                           languages=[(c, language_name(c)) for c in REVIEWABLE_LANGUAGES])


# --- Hooks ---------------------------------------------------------------------------------------

def _footer_context() -> dict[str, Any]:
    """The footer's translation links: how much of the reader's language is reviewed, and, for a
    translator, the suggestion mode switch."""
    if not has_request_context() or "wording_footer" in g:
        return {"wording": g.get("wording_footer")} if has_request_context() else {}
    language = current_language()
    info = None
    if language in REVIEWABLE_LANGUAGES:
        user = current_user if current_user.is_authenticated else None
        translator = bool(user is not None and not user.pending and service.may_suggest(user, language))
        info = {"percent": percent(wordings().reviewed_percent(language)), "translator": translator,
                "mode": translator and session.get(MODE) == language}
    g.wording_footer = info
    return {"wording": info}


def _suggestion_mode() -> None:
    """before_request: a translator's pages note the messages they use while the mode is on."""
    if request.endpoint in (None, "static", "health.healthz", "health.readyz") or is_api_request():
        return
    if current_user.is_authenticated and session.get(MODE):
        g.wording_mode = session[MODE]


def _remember_page(response: Response) -> Response:
    """after_request: keep the messages of the page just shown, for the list page and the script."""
    used = g.get("wording_used")
    if used and request.method == "GET" and response.status_code == 200 and response.mimetype == "text/html":
        known = messages()
        session[PAGE] = {"path": request.full_path.removesuffix("?"),
                         "keys": [key for key in used if key in known]}
    return response


def may_grant_translator_to(subject: Any) -> bool:
    """For the user page's link to the translator languages."""
    return permissions.may_grant_translator(policy.reader(), subject)


def init_app(app: Flask) -> None:
    app.extensions["portal_wordings"] = Wordings()
    app.register_blueprint(bp)
    app.before_request(_suggestion_mode)
    app.after_request(_remember_page)
    app.context_processor(_footer_context)
    app.jinja_env.globals["may_grant_translator_to"] = may_grant_translator_to

    app.cli.add_command(translations_cli)
