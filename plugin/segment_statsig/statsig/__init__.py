"""The Statsig destination: mapping, user, transport."""
