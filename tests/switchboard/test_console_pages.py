"""The console's pages without script: the form and the result links still lead somewhere."""

from __future__ import annotations

import html
import re


def test_the_console_renders_results_and_a_card_for_a_plain_link(client, make_staff, region):
    operator = make_staff("telefonist", "bjurholm", ("operator", None))
    asa = region["umea"]["contact"]
    page = client.get(f"/switchboard/console?q=lind&open={asa.id}", headers=operator.headers)
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "2 träffar" in text
    assert 'id="card-title"' in text and "Åsa Lindqvist" in text
    links = re.findall(r'class="result__link" href="([^"]+)"', text)
    assert all(link.startswith("/switchboard/console?q=lind") for link in links)


def test_the_console_asks_anonymous_visitors_to_log_in(client):
    reply = client.get("/switchboard/console?dialled=090161000")
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/login?next=%2Fswitchboard%2Fconsole")


def test_a_card_of_another_municipality_is_not_found_for_an_editor(client, make_staff, region):
    editor = make_staff("redaktor", "vannas", ("directory_editor", "vannas"))
    asa = region["umea"]["contact"]
    reply = client.get(f"/switchboard/console/cards/{asa.id}", headers=editor.headers)
    assert reply.status_code == 404
