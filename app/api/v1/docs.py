from flask import jsonify

from ... import __version__
from . import bp
from .spec import document


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document(__version__))
