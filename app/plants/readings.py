"""A plant's readings, each metric from the device bound for it: the one way the plants area
reads a plant's series (the function lives in the domain, which alert evaluation shares)."""

from ..domain.readings import plant_readings as plant_readings

__all__ = ["plant_readings"]
