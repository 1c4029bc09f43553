"""The Segment-style core: events, plugins, timeline, settings, identity, storage."""
