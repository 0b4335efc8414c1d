"""Notifications service: emails and webhooks about a department's ideas, experiments and outcomes."""
