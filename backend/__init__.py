"""Digitale Balie backend: booking, email, identity, the official's desk."""
