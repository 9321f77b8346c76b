"""Templates keep to the Content Security Policy: no inline script, style or event handler.

``script-src 'self'; style-src 'self'`` makes a browser refuse all three, so a page that
used one would silently lose it. The browser tests see such refusals in Chromium's console;
this check needs no browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(
    path
    for package in ("services", "switchboard", "library_loans", "refugee_reception", "procurement")
    for path in (ROOT / package).glob("**/templates/**/*.html")
)
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_there_are_templates_to_check():
    assert any(path.name == "base.html" for path in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_template_has_nothing_the_content_security_policy_refuses(template):
    text = template.read_text(encoding="utf-8")
    found = {name: pattern.findall(text) for name, pattern in FORBIDDEN.items()}
    assert not any(found.values()), {name: hits for name, hits in found.items() if hits}


@pytest.mark.parametrize("path", ["/", "/login", "/library/", "/api/docs", "/no-such-page"])
def test_every_page_has_one_main_heading_a_language_and_a_skip_link_first(client, path):
    text = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert len(re.findall(r"<h1[\s>]", text)) == 1
    assert re.search(r'<html lang="(sv|en)">', text)
    body = text[text.index("<body"):]
    first_link = re.search(r"<a\s[^>]*>", body)
    assert first_link and 'class="skip-link" href="#main"' in first_link.group(0)
    assert '<main id="main" tabindex="-1">' in text
