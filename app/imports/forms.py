"""Forms of the import pages (Flask-WTF: CSRF on in production)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.imports import mapping as maps
from app.imports.export import FORMATS


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("The file contains"),
        choices=[
            SelectChoice("parcels", _l("Plots (DK layer)")),
            SelectChoice("households", _l("Households (CBF)")),
        ],
        default="parcels",
    )
    file = FileField(
        _l(
            "File (GeoPackage, GeoJSON, FlatGeobuf or zipped Shapefile; CSV or XLSX for households)"
        ),
        validators=[FileRequired()],
    )
    members = FileField(_l("Members table (CBF_JTCY, CSV or XLSX; optional)"))
    crs = StringField(
        _l("Coordinate reference system, if the file declares none (e.g. EPSG:4490)"),
        validators=[Optional(), Length(max=200)],
    )
    layer = StringField(_l("Layer (default: the first)"), validators=[Optional(), Length(max=200)])
    effective_on = DateField(
        _l("Date the data took legal effect (optional; default: the day it is promoted)"),
        validators=[Optional()],
    )


class PromoteForm(FlaskForm):
    valid_only = BooleanField(_l("Promote only the valid features (skip those with errors)"))


class DiscardForm(FlaskForm):
    pass


class ExportForm(FlaskForm):
    """An export is a POST with a CSRF token: following a link never takes data away."""

    format = SelectField(
        _l("Format"),
        choices=[SelectChoice(f, f) for f in FORMATS],
        default="gpkg",
    )


def mapping_form(fields: list[str], current: dict[str, str]) -> type[FlaskForm]:
    """A form with one select per NY/T 2539 field, offering the file's own fields."""

    class MappingForm(FlaskForm):
        pass

    choices = [SelectChoice("", "—")] + [SelectChoice(f, f) for f in fields]
    for target, (_key, zh, en) in maps.PARCEL_FIELDS.items():
        label = f"{target} · {zh} / {en}"
        setattr(
            MappingForm,
            target,
            SelectField(
                label, choices=choices, default=current.get(target, ""), validate_choice=True
            ),
        )
    return MappingForm
