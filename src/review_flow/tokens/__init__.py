"""API tokens: how pipelines and integrations prove who they act for."""
