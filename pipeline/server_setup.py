"""Start the background services when ``panel serve`` starts.

Passed as ``panel serve dashboard.py --setup pipeline/server_setup.py`` (the
README's serve command does this), so the watcher and ingest run from server
start, with no browser open.
"""

import logging
import os

from pipeline.service import PRIVATE_UMASK, start_service

# The catalog, snapshots and head file hold phone numbers: owner-only files.
os.umask(PRIVATE_UMASK)
logging.getLogger("pipeline").setLevel(logging.INFO)
start_service()
