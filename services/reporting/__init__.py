"""Reporting service: central read models and dashboards across every department."""
