"""Services orchestrate the pure parts and the stores; handlers call exactly one of them."""
