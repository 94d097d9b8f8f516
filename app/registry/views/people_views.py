from flask import render_template
from flask_login import current_user

from app.auth.models import Role
from app.auth.scope import farmer_household_ids, roles_required
from app.registry.views import bp


@bp.route("/my")
@roles_required(Role.FARMER)
def my_household():
    ids = sorted(farmer_household_ids(current_user))
    return render_template("registry/my_household.html", household_ids=ids)
