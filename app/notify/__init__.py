"""Webhook delivery (Discord), in its own worker so it never slows ingestion."""
