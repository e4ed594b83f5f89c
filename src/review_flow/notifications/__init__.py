"""Who hears about what: e-mail kinds with per-user opt-out, and webhooks."""
