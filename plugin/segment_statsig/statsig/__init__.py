"""The Statsig destination: mapping, user, transport."""
from __future__ import annotations
