"""The tests' one bounded wait: poll a condition until it holds or the time is up."""
import time


def wait_until(condition, timeout=5.0, step=0.01):
    """True as soon as `condition()` is true; False when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
