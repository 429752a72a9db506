"""Switchboard: everything deployed with the Chalice app."""
