"""Experiments service: backed ideas become time-boxed experiments with outcomes."""
