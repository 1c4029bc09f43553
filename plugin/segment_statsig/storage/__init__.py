"""What the device keeps on disk: the storage folder's files (files.py) and its lock
(lock.py), the journal that makes a call durable on return (journal.py) and the reading
of its lines back into records (records.py), and the destinations' durable queues
(queue.py; fallback.py when the disk refuses writes)."""
from __future__ import annotations
