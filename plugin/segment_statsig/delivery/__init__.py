"""Sending: a destination's delivery worker (worker.py), its retry policy (policy.py), the one
HTTP module (http.py), and QueuedDestination, the base of every destination that delivers."""
from __future__ import annotations
