"""Front ends (CLI, desktop) and the one place that wires adapters to the core."""
