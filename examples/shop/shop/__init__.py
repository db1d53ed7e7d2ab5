"""The demo shop for chaoskit's game day (see examples/shop/README.md)."""
