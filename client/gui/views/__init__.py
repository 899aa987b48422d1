"""The client's screens, one module per domain word."""
