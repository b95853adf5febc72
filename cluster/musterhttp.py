"""A small HTTP client for Muster's check scripts (cluster/drive.py, crash/drive.py).

Standard library only (urllib), so CI needs nothing but Python.
"""

import base64
import json
import urllib.error
import urllib.request


def basic(user, secret):
    """An `Authorization` header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def call(method, url, token=None, body=None, headers=None, timeout=15,
         content_type="application/scim+json"):
    """(status, headers, parsed body or text); status 0 for a connection failure.

    `token` is sent as a Bearer token; put any other Authorization in `headers`.
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, dict(r.headers), parse(raw)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), parse(e.read())
    except Exception as e:  # reset, refused, timeout: what a client sees of a dead server
        return 0, {}, repr(e)


def parse(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
