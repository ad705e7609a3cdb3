"""WebSocket signalling: waiting room, official desk and call rooms (see docs/signalling.md)."""
