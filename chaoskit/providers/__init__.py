"""Built-in providers for ad-hoc steps (registered through entry points like any plugin)."""
