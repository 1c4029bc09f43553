"""What the device keeps on disk: the storage folder's files (files.py), the journal that
makes a call durable on return (journal.py), and the destinations' durable queues (queue.py)."""
