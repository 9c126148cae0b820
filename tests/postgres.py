"""A private schema on a shared PostgreSQL server, so tests and benchmarks never see each other's tables.

The test session, the multi-process and migration tests, and the benchmarks (run as scripts, with the
checkout on sys.path) all create one, point a URL's search_path at it, and drop it when done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def schema_url(base: str, schema: str) -> str:
    """`base` with every connection's search_path set to `schema`."""
    url = make_url(base)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@contextmanager
def private_schema(base: str, prefix: str) -> Iterator[str]:
    """A new, empty schema named `prefix_<random>` on the server at `base`; yields its URL, drops it after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(base, schema)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
