"""The links a message carries, on PUBLIC_URL: the plant's page and its signed mute link."""

from flask import current_app

from ..web import public_url
from .dispatch import Links, mute_token


def links() -> Links:
    secret = current_app.config["SECRET_KEY"]
    return Links(
        lambda plant_id: public_url("plants.show_plant", plant_id=plant_id),
        lambda user_id, plant_id: public_url("plants.mute_from_link", token=mute_token(secret, user_id, plant_id)),
        public_url("plants.list_plants"),
    )
