"""Köprü — the social-support data warehouse (plan card A4 / target H4.1)."""

__version__ = "0.1.0"
