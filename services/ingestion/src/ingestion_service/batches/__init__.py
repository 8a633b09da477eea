"""Batches of events from devices and servers: POST /data/events."""
