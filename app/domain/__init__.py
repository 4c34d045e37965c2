"""PlantOps' own logic, importable and testable without Flask.

Nothing here imports a web framework (flask, werkzeug, jinja2, wtforms or a Flask
extension) or a blueprint; functions that need the database take the SQLAlchemy
session as an argument and never commit: the request or the worker owns the
transaction. The import contract in `make test` holds this.
"""
