"""Flask extensions, created once here and bound to the app in `create_app`."""

from flask_compress import Compress
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from .orm import db

__all__ = ["compress", "csrf", "db", "login_manager", "migrate"]

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
compress = Compress()
