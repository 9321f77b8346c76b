"""The English catalogue covers every Swedish source string, and pages really switch language.

Source strings (msgids) are Swedish, the language the UI speaks by default, so Swedish needs
no catalogue; English comes from ``services/translations/en``. The extraction here reads
the same ``babel.cfg`` as ``pybabel extract``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "services" / "translations"
ENGLISH_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
ENGLISH_MO = ENGLISH_PO.with_suffix(".mo")
REFRESH = "see the commands at the top of babel.cfg"


def extracted_msgids() -> dict[str, list[str]]:
    """Every translatable string in the code and templates, with where it was found."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def read_catalog(path: Path) -> Catalog:
    """The PO or POT file at ``path``."""
    with path.open("rb") as file:
        return read_po(file)


def test_extraction_finds_the_pages_strings():
    found = extracted_msgids()
    # One from a template, one from Python through lazy_gettext, one from a view's gettext.
    expected = {"Hoppa till innehållet", "Biblioteken", "Fel användarnamn eller lösenord."}
    assert expected <= set(found)


def test_every_extracted_string_is_in_the_template_and_the_english_catalogue():
    found = extracted_msgids()
    for path in (TRANSLATIONS / "messages.pot", ENGLISH_PO):
        catalog_ids = {_singular(message.id) for message in read_catalog(path) if message.id}
        missing = {msgid: found[msgid] for msgid in sorted(set(found) - catalog_ids)}
        stale = sorted(catalog_ids - set(found))
        assert not missing, f"{path.name} lacks {missing} ({REFRESH})"
        assert not stale, f"{path.name} has strings no code uses: {stale} ({REFRESH})"


def test_no_english_entry_is_fuzzy_empty_or_has_broken_placeholders():
    catalog = read_catalog(ENGLISH_PO)
    messages = [message for message in catalog if message.id]
    assert catalog.locale is not None and str(catalog.locale) == "en"
    fuzzy = [message.id for message in messages if message.fuzzy]
    empty = [message.id for message in messages if not message.string
             or (isinstance(message.string, tuple) and not all(message.string))]
    broken = [(message.id, [str(error) for error in errors]) for message, errors in catalog.check()]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"
    assert not broken, f"placeholders that do not match: {broken}"


def test_the_committed_mo_is_what_compiling_the_po_gives(tmp_path):
    compiled = tmp_path / "messages.mo"
    with compiled.open("wb") as file:
        write_mo(file, read_catalog(ENGLISH_PO), use_fuzzy=False)

    assert ENGLISH_MO.is_file(), f"compile the catalogue: {REFRESH}"
    assert _translations(ENGLISH_MO) == _translations(compiled), (
        f"{ENGLISH_MO.relative_to(ROOT)} is out of date ({REFRESH})"
    )


def _singular(msgid: str | tuple[str, ...]) -> str:
    """A plural entry's id is (singular, plural); extraction names it by the singular."""
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _translations(path: Path) -> dict[str, str]:
    with path.open("rb") as file:
        catalog = read_mo(file)
    return {str(message.id): str(message.string) for message in catalog if message.id}


# --- pages in either language ----------------------------------------------------------

PAGES = ["/", "/login", "/library/", "/procurement/", "/api/docs", "/switchboard/api/docs",
         "/no-such-page"]


def page_text(client, path: str, **headers: str) -> str:
    """The page at ``path`` as text (entities decoded), asked for as a browser would."""
    reply = client.get(path, headers={"Accept": "text/html", **headers})
    assert reply.mimetype == "text/html", (path, reply.status_code)
    return html.unescape(reply.get_data(as_text=True))


def test_pages_speak_swedish_by_default(client):
    text = page_text(client, "/")
    assert '<html lang="sv">' in text
    assert "Hoppa till innehållet" in text
    assert "Gemensamma tjänster" in text


@pytest.mark.parametrize("path", PAGES)
def test_lang_en_shows_the_page_in_english(client, path):
    english_of = {
        message.id: message.string
        for message in read_catalog(ENGLISH_PO)
        if isinstance(message.id, str) and "%(" not in message.id and len(message.id) >= 10
    }
    swedish = page_text(client, path)
    separator = "&" if "?" in path else "?"
    english = page_text(client, f"{path}{separator}lang=en")

    assert '<html lang="en">' in english
    shown = [msgid for msgid in english_of if msgid in swedish]
    assert shown, f"no translatable text found on {path}"
    for msgid in shown:
        assert english_of[msgid] in english, f"{english_of[msgid]!r} missing on {path}?lang=en"
        assert msgid not in english, f"{msgid!r} still Swedish on {path}?lang=en"


def test_a_chosen_language_is_remembered_and_can_be_switched_back(client):
    assert "Skip to content" in page_text(client, "/?lang=en")
    library = page_text(client, "/library/")
    assert '<html lang="en">' in library
    assert re.search(r"<h1>\s*Libraries\s*</h1>", library)

    assert "Hoppa till innehållet" in page_text(client, "/library/?lang=sv")
    assert '<html lang="sv">' in page_text(client, "/")


def test_a_browser_asking_for_english_gets_english(client):
    text = page_text(client, "/login", **{"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in text
    assert "Username" in text and "Password" in text


def test_the_language_link_names_the_other_language_in_that_language(client):
    # The link keeps the rest of the address, so switching on the login page keeps "next".
    swedish = page_text(client, "/login?next=/library/")
    link = '<a href="/login?next=%2Flibrary%2F&lang={0}" lang="{0}" hreflang="{0}">{1}</a>'
    assert link.format("en", "English") in swedish
    english = page_text(client, "/login?next=/library/&lang=en")
    assert link.format("sv", "Svenska") in english

