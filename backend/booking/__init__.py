"""Agenda rules, free-slot search and appointments."""
