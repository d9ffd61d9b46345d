"""Kizuna: revenue and customer-success platform for SaaS companies."""

__version__ = "0.1.0"
