"""HTTP and TCP probes for chaoskit."""
