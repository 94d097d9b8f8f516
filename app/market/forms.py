"""The marketplace's HTML forms (WTForms, CSRF by Flask-WTF).

Prices are typed in yuan (元) with at most two decimals and turned into whole fen (分) exactly,
with Decimal: never a float. ``YuanField.data`` is the amount in fen (an int) or None.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from app.core.fields import DecimalField, IntegerField
from app.leases.services import LESSEE_KIND_LABELS, SCHEDULES
from app.registry.views.common import length

#: The largest price the database and the services take: below 10**15 fen.
MAX_FEN = 10**15


class PriceError(ValueError):
    """Why a typed price is not one (the message is for the user)."""


def yuan_to_fen(text: Any) -> int:
    """'1234.5' → 123450: a price in yuan, at most two decimals, more than zero, exactly."""
    raw = str(text or "").strip().replace(",", "").replace("，", "")
    if raw.endswith(("元", "¥")):
        raw = raw[:-1].strip()
    if raw.startswith(("¥", "￥")):
        raw = raw[1:].strip()
    if not raw or len(raw) > 24 or not all(c in "0123456789.-+" for c in raw):
        raise PriceError(_l("Give the price in yuan, as a number such as 25000 or 25000.50."))
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise PriceError(
            _l("Give the price in yuan, as a number such as 25000 or 25000.50.")
        ) from None
    if not amount.is_finite():
        raise PriceError(_l("Give the price in yuan, as a number such as 25000 or 25000.50."))
    if amount <= 0:
        raise PriceError(_l("The price must be more than zero."))
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise PriceError(_l("Give the price with at most two decimals (whole fen)."))
    if fen >= MAX_FEN:
        raise PriceError(_l("This price is too large."))
    return int(fen)


def fen_to_yuan(fen: int | None) -> str:
    """123450 → '1,234.50' (yuan with two decimals, exact)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


class YuanField(StringField):
    """A price typed in yuan; ``data`` is whole fen (int) or None when left empty."""

    data: int | None  # type: ignore[assignment]

    def process_formdata(self, valuelist: list) -> None:
        self.raw_text = valuelist[0] if valuelist else ""
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = yuan_to_fen(valuelist[0])
        except PriceError as err:
            self.data = None
            raise ValueError(str(err.args[0])) from None

    def _value(self) -> str:
        raw = getattr(self, "raw_text", None)
        if raw is not None:
            return str(raw)
        return fen_to_yuan(self.data).replace(",", "") if self.data else ""


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes (touch-friendly) instead of a multi-select."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


# --- farmers


class NewListingForm(FlaskForm):
    right = SelectField(_l("Which right"), choices=[], validators=[DataRequired()])
    plots = MultiCheckboxField(_l("Only these plots (leave all unticked for the whole contract)"))
    shares = DecimalField(
        _l("How many shares (leave empty for all)"), validators=[Optional()], places=None
    )
    deal_kind = RadioField(
        _l("What to do"),
        choices=[
            SelectChoice("transfer", _l("Transfer to a member household of the collective")),
            SelectChoice(
                "paid_exit", _l("Give it back to the collective for compensation (paid exit)")
            ),
            SelectChoice(
                "lease",
                _l("Lease the right to farm it (the contract stays my household's)"),
            ),
        ],
        default="transfer",
        validators=[InputRequired()],
    )
    method = RadioField(
        _l("How the buyer is found (transfer only)"),
        choices=[
            SelectChoice("negotiated", _l("I choose among the offers (negotiated)")),
            SelectChoice("bidding", _l("Open bidding: the highest bid wins")),
        ],
        default="negotiated",
        validators=[Optional()],
    )
    price = YuanField(_l("Asking price (yuan)"))
    # Open bidding only (ignored otherwise): the deadline in the county's time, typed as a day and
    # an hour; the least raise of a bid and the deposit each bidder pays, in yuan.
    bid_deadline = DateTimeLocalField(
        _l("Bidding ends (day and time, Beijing time)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )
    bid_step = YuanField(_l("Each bid adds at least (yuan)"))
    deposit = YuanField(_l("Deposit each bidder pays (yuan, leave empty for none)"))
    # A lease only (ignored otherwise): the terms the holder asks (R05).
    lease_method = SelectField(_l("Way of leasing"), choices=[], validators=[Optional()])
    lease_use = SelectField(_l("Use of the land"), choices=[], validators=[Optional()])
    lease_starts_on = DateField(_l("Lease starts on"), validators=[Optional()])
    lease_ends_on = DateField(_l("Lease ends on"), validators=[Optional()])
    rent = YuanField(_l("Rent per mu per year (yuan)"))
    payment_schedule = RadioField(
        _l("Rent is paid"),
        choices=[SelectChoice(key, label) for key, label in SCHEDULES.items()],
        default="annual",
        validators=[Optional()],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), length("reason")])

    def validate_bid_deadline(self, field: DateTimeLocalField) -> None:
        """A day of this millennium (a typed year 1 or 9999 is no deadline, and would not
        survive the conversion to UTC)."""
        if field.data is not None and not 2000 <= field.data.year <= 2999:
            raise ValidationError(_l("Give a day and time such as 2027-01-31 18:00."))


class DeclareForm(FlaskForm):
    free = BooleanField(
        _l("I have read this and decide freely"),
        validators=[DataRequired(_l("Tick the box to confirm you have read this."))],
    )


class ConsentForm(FlaskForm):
    person = SelectField(_l("Whose consent"), choices=[], coerce=_int_or_none)
    decision = RadioField(
        _l("My decision"),
        choices=[
            SelectChoice("give", _l("I consent")),
            SelectChoice("refuse", _l("I do not consent")),
        ],
        validators=[InputRequired(_l("Choose whether you consent."))],
    )
    reason = TextAreaField(
        _l("Reason (only if you do not consent; optional)"),
        validators=[Optional(), length("reason")],
    )


class WithdrawForm(FlaskForm):
    """A confirmation only: no reason is asked (R13)."""


class AcceptForm(FlaskForm):
    offer_id = HiddenField(validators=[DataRequired()])


class OfferForm(FlaskForm):
    household = SelectField(_l("Offer for the household"), choices=[], coerce=_int_or_none)
    amount = YuanField(_l("Your offer (yuan)"), validators=[DataRequired(_l("Give your offer."))])
    #: Bidding with a deposit only: the reference of the deposit's payment to the collective.
    deposit_reference = StringField(
        _l("Payment reference of your deposit"), validators=[Optional(), length("code")]
    )
    # A lease listing only: the offer's term and use (the amount is the rent per mu per year).
    starts_on = DateField(_l("Lease starts on"), validators=[Optional()])
    ends_on = DateField(_l("Lease ends on"), validators=[Optional()])
    use = SelectField(_l("Use of the land"), choices=[], validators=[Optional()])


#: Who offers from outside the collective (R05), in the words staff read.
OUTSIDER_KINDS = [
    SelectChoice(kind, LESSEE_KIND_LABELS[kind])
    for kind in ("outside_person", "outside_household", "cooperative", "company", "other_org")
]


class OutsiderOfferForm(FlaskForm):
    """Staff record an outsider's offer on a lease listing (they have no login)."""

    lessee_kind = RadioField(
        _l("Who offers"),
        choices=OUTSIDER_KINDS,
        validators=[InputRequired(_l("Choose who offers."))],
    )
    lessee_name = StringField(_l("Name"), validators=[Optional(), length("name")])
    lessee_id_number = StringField(
        _l("Resident ID number (a person, or the household's head)"),
        validators=[Optional(), length("code")],
    )
    lessee_uscc = StringField(
        _l("Unified social credit code (a cooperative, company or organisation)"),
        validators=[Optional(), length("code")],
    )
    lessee_contact = StringField(_l("Contact (optional)"), validators=[Optional(), length("name")])
    amount = YuanField(
        _l("Rent per mu per year (yuan)"), validators=[DataRequired(_l("Give the rent."))]
    )
    starts_on = DateField(_l("Lease starts on"), validators=[Optional()])
    ends_on = DateField(_l("Lease ends on"), validators=[Optional()])
    use = SelectField(_l("Use of the land"), choices=[], validators=[Optional()])


class MatchForm(FlaskForm):
    """A member household matches the chosen outsider's terms (members' priority, R05)."""

    household = SelectField(_l("For the household"), choices=[], coerce=_int_or_none)
    amount = YuanField(
        _l("Rent per mu per year (yuan)"), validators=[DataRequired(_l("Give the rent."))]
    )
    starts_on = DateField(_l("Lease starts on"), validators=[Optional()])
    ends_on = DateField(_l("Lease ends on"), validators=[Optional()])
    use = SelectField(_l("Use of the land"), choices=[], validators=[Optional()])


# --- collective administrators


class WitnessForm(FlaskForm):
    person = SelectField(_l("Person who decided"), choices=[], coerce=_int_or_none)
    paper = SelectField(_l("Signed paper form"), choices=[], coerce=_int_or_none)
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("give", _l("Gave consent")), SelectChoice("refuse", _l("Refused"))],
        default="give",
        validators=[Optional()],  # a declaration has none to choose
    )
    reason = TextAreaField(_l("Reason (for a refusal)"), validators=[Optional(), length("reason")])


class PublishForm(FlaskForm):
    """Publishing is one button after the title check is shown."""


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("reject", _l("Reject"))],
        validators=[InputRequired(_l("Choose approve or reject."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional(), length("reason")])
    document = SelectField(_l("Written approval"), choices=[], coerce=_int_or_none)


class BureauForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("reject", _l("Reject"))],
        validators=[InputRequired(_l("Choose approve or reject."))],
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional(), length("reason")])
    flag_decision = TextAreaField(
        _l("Your decision on the flag, with its reason"), validators=[Optional(), length("reason")]
    )
    interviewed = RadioField(
        _l("Was the holder interviewed in person?"),
        choices=[
            SelectChoice("yes", _l("Yes, interviewed in person")),
            SelectChoice("no", _l("No")),
        ],
        validators=[Optional()],
    )


class ContractForm(FlaskForm):
    signed_on = DateField(_l("Signed on"), validators=[DataRequired()])
    document = SelectField(_l("Signed contract"), choices=[], coerce=_int_or_none)
    payment_terms = TextAreaField(
        _l("Payment terms"), validators=[DataRequired(), length("reason")]
    )


class PaymentForm(FlaskForm):
    how = RadioField(
        _l("Payment"),
        choices=[
            SelectChoice("confirmed", _l("Confirmed: the collective saw the payment")),
            SelectChoice("escrow", _l("Held in escrow until registration")),
        ],
        default="confirmed",
        validators=[InputRequired()],
    )
    reference = StringField(_l("Payment reference"), validators=[DataRequired(), length("code")])
    paid_on = DateField(_l("Paid on"), validators=[DataRequired()])


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the holder reads it)"),
        validators=[DataRequired(_l("Give the reason in writing.")), length("reason")],
    )


class ConfirmForm(FlaskForm):
    """A step that is one button after its page says what it does (closing the bidding, ending a
    listing without a buyer)."""


class RegisterForm(FlaskForm):
    """Registration is one button: the service does the rest in one transaction."""


class ExitForm(FlaskForm):
    price = YuanField(_l("Compensation (yuan)"), validators=[DataRequired(_l("Give the price."))])
    improvements = YuanField(_l("Of which for improvements (yuan, optional)"))
    document = SelectField(
        _l("Resolution of the members' meeting"), choices=[], coerce=_int_or_none
    )
    votes_for = IntegerField(_l("Votes for"), validators=[InputRequired()])
    votes_cast = IntegerField(_l("Votes cast"), validators=[InputRequired()])
    notice_given_on = DateField(_l("Written notice given on (land only)"), validators=[Optional()])


# --- lists


class QueueFilterForm(FlaskForm):
    """GET filters of the queues (no CSRF: nothing is written)."""

    class Meta:
        csrf = False

    state = SelectField(_l("Step"), choices=[], validators=[Optional()])
    right_kind = SelectField(_l("Right"), choices=[], validators=[Optional()])
    township = SelectField(_l("Township"), choices=[], validators=[Optional()])
    village = SelectField(_l("Village"), choices=[], validators=[Optional()])
