"""The registry browser (``evoenv serve``): FastAPI + Jinja2 pages and a JSON API."""

from evoenv.web.app import create_app

__all__ = ["create_app"]
