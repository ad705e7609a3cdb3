"""The catalogue a team admin keeps: services, their questions, checklist and email texts."""
