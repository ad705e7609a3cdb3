"""aiortc peers: the headless probe client (tests, benchmarks, ops)."""
