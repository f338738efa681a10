"""Entry point for ``flask --app app …`` and WSGI servers."""
from stompro import create_app

app = create_app()
