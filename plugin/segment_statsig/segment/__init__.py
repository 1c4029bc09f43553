"""The cloud leg: events to Segment's API, marked so Segment does not send them to device-mode
destinations a second time."""
from __future__ import annotations
