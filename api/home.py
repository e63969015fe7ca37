"""The landing page: where a person starts clicking (the full explorer pages
come with the public-explorer work)."""

from __future__ import annotations

from flask import Blueprint, render_template_string

bp = Blueprint("home", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ARC Registry</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
a{color:#0b57d0}code{background:#f1f3f4;padding:0 .25rem}</style></head>
<body><main>
<h1>ARC Registry</h1>
<p>Attributes of Recycled Content certificates, with a public, verifiable transparency log.</p>
<h2>Explore</h2>
<ul>
<li><a href="/api/v1/docs">Interactive API documentation</a> (<a href="/api/v1/openapi.json">OpenAPI document</a>)</li>
<li><a href="/api/v1/retirements">Public retirement records</a></li>
<li><a href="/api/v1/log/checkpoint">Latest signed log checkpoint</a> and the <a href="/api/v1/log/key">verifier key</a></li>
<li><a href="/api/v1/log/entries?start=0&amp;end=50">The first 50 log entries</a></li>
<li><a href="/api/v1/health">Health</a></li>
</ul>
<p>Writes need <code>Authorization: Bearer &lt;token&gt;</code>; <code>arcreg create-admin EMAIL</code> prints one.</p>
</main></body></html>"""


@bp.get("/")
def home():
    return render_template_string(PAGE)
