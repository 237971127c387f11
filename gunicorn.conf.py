"""gunicorn settings picked up automatically from the working directory (web process only)."""

import gc


def post_worker_init(worker):
    # The app's import graph leaves ~200k long-lived objects; without freezing them every full
    # collection walks them all and stalls the worker's threads for ~100 ms (measured by
    # bench/profile_submit.py). Freezing moves them out of the collector's sight after boot.
    gc.collect()
    gc.freeze()
