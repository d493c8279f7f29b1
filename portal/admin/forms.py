from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.i18n import lazy_gettext as _l


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OrganisationForm(FlaskForm):
    slug = StringField(_l("Short name (slug)"), validators=[Optional(), Length(max=64)],
                       description=_l("Lower-case letters, digits and hyphens; cannot change later."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"))
    sector = SelectField(_l("Sector"))
    country = SelectField(_l("Country"))
    active = BooleanField(_l("Active"), default=True)


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    organisation = SelectField(_l("Organisation"), coerce=int)
    roles = CheckboxList(_l("Roles"))
    clearance = SelectField(_l("Clearance"))
    locale = SelectField(_l("Language"))
    time_zone = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)],
                            description=_l("Empty: the time zone of the organisation's country."))
    active = BooleanField(_l("Active"), default=True)
    approve = BooleanField(_l("Approve: this person may use the portal with the roles and clearance above"))
