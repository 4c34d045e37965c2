"""Mosquitto accounts PlantOps manages through the dynamic-security plugin (docs/broker-accounts.md)."""
