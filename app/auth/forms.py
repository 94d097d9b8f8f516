from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    repeat = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])


class UserForm(FlaskForm):
    """The administrator's form for an account: its role by name, its collectives by name.

    Choices are filled by the view (the collectives exist in the database); the service checks
    what goes together (collectives for scoped roles, none for county ones).
    """

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Full name"), validators=[Length(max=80)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    collectives = SelectMultipleField(
        _l("Collectives (for farmers and collective administrators)"), coerce=int
    )


class UserEditForm(UserForm):
    username = None  # a username stays what it was
