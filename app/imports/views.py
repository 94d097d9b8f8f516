"""Web pages of bulk import and export."""

from flask import Blueprint

bp = Blueprint("imports", __name__)
