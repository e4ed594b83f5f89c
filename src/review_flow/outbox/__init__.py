"""The transactional outbox: notifications written with the change, delivered after commit."""
