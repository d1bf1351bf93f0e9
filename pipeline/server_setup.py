"""Start the background services when ``panel serve`` starts.

Passed as ``panel serve dashboard.py --setup pipeline/server_setup.py`` (the
README's serve command does this), so the watcher and ingest run from server
start, with no browser open.
"""

import logging

from pipeline.service import start_service

logging.getLogger("pipeline").setLevel(logging.INFO)
start_service()
