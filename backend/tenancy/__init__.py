"""Who may act for which municipality and team: roles, scope and mandates (docs/adr/0011-tenancy.md)."""
