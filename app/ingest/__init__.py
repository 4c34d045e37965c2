"""MQTT ingestion: payload parsing, the consumer thread, the batch writer, the simulator."""
