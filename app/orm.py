"""The SQLAlchemy binding the models are declared on, apart from the other Flask extensions,
so app.models (and app.domain through it) loads Flask-SQLAlchemy and nothing else of Flask's."""

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
