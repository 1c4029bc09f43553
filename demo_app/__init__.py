"""Segment -> Statsig demo: a Kivy app that shows Segment calls becoming Statsig
events, live. ``python -m demo_app`` (or ``./dev demo``) opens it; ``--tour OUT_DIR``
walks every screen offscreen and saves screenshots and a recording."""
