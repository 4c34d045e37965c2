"""Integrations with other software (Home Assistant)."""
