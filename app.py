"""Entry point for ``flask --app app …`` and WSGI servers."""
import gc

from stompro import create_app

app = create_app()
# Everything built so far (models, admin views, templates) lives as long as
# the process: keep it out of the garbage collector's scans.
gc.collect()
gc.freeze()
