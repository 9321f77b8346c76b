"""MARC 21 for the catalogue: reading files (good and broken), describing, items, export."""

from __future__ import annotations

import io
import random
import re
import tracemalloc
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield
from pymarc.exceptions import BadSubfieldCodeWarning
from stdnum import ean as stdnum_ean
from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn
from stdnum.exceptions import ValidationError

from bench.library_marc import corrupt, generate_records, write_iso2709, write_marcxml_file
from library_loans.marc import (
    PRESETS,
    DescriptionError,
    HoldingsMapping,
    describe,
    holdings,
    read_marc,
    reading,
    sniff_format,
    write_marcxml,
)
from library_loans.marc.describe import _ISBN_CANDIDATE, _valid_isbn
from library_loans.search import analysis

BOOK = "00000nam a2200000 i 4500"


def _datafield(tag: str, *subfields: tuple[str, str], indicators: str = "  ") -> Field:
    return Field(
        tag, Indicators(indicators[0], indicators[1]), [Subfield(c, v) for c, v in subfields]
    )


def _record(*fields: Field, leader: str = BOOK, fixed: str | None = None) -> pymarc.Record:
    """A record with the given fields, an 001, and an 008 (blank unless given)."""
    record = pymarc.Record(leader=leader)
    record.add_field(Field("001", data="1"), Field("008", data=(fixed or "").ljust(40)))
    record.add_field(*fields)
    return record


def _fixed(**positions: str) -> str:
    """An 008 with characters set at positions named like ``p22="a"`` or ``p35="swe"``."""
    fixed = [" "] * 40
    for name, value in positions.items():
        start = int(name[1:])
        fixed[start : start + len(value)] = value
    return "".join(fixed)


def _titled(*fields: Field, leader: str = BOOK, fixed: str | None = None) -> pymarc.Record:
    return _record(_datafield("245", ("a", "En titel")), *fields, leader=leader, fixed=fixed)


def _iso(records: list[pymarc.Record]) -> list[bytes]:
    return [record.as_marc() for record in records]


def _control_numbers(results: list[reading.ReadResult]) -> list[str | None]:
    return [r.record["001"].data if r.record is not None else None for r in results]


class _Trickle(io.RawIOBase):
    """A non-seekable stream that hands out at most a few bytes per read."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = data
        self._at = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        part = self._data[self._at : self._at + min(self._step, size if size > 0 else 1 << 30)]
        self._at += len(part)
        return part


# --- Telling the format --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<?xml version="1.0"?><collection/>', "marcxml"),
        (b"\xef\xbb\xbf<collection/>", "marcxml"),
        (b"\n  <record xmlns='http://www.loc.gov/MARC21/slim'/>", "marcxml"),
        (b"00714cam a2200205 a 4500", "iso2709"),
        (b"", "iso2709"),
    ],
)
def test_the_format_is_told_by_the_content(head: bytes, expected: str) -> None:
    assert sniff_format(head) == expected


def test_an_iso2709_file_named_xml_is_still_read_as_iso2709(tmp_path: Path) -> None:
    first, second, third = _iso(list(generate_records(3)))
    path = tmp_path / "export.xml"
    path.write_bytes(first + second + third)

    results = list(read_marc(path))

    assert [r.error for r in results] == [None, None, None]
    assert [r.offset for r in results] == [0, len(first), len(first) + len(second)]


# --- ISO 2709 ------------------------------------------------------------------------------


def test_a_generated_file_reads_back_record_by_record_with_offsets_and_raw_bytes(
    tmp_path: Path,
) -> None:
    path = write_iso2709(tmp_path / "katalog.mrc", 40, seed=7)
    data = path.read_bytes()
    expected = list(generate_records(40, seed=7))

    results = list(read_marc(str(path)))

    assert [r.position for r in results] == list(range(1, 41))
    assert all(r.error is None for r in results)
    assert [r.raw for r in results] == _iso(expected)
    assert [r.record.as_marc() for r in results] == _iso(expected)
    for result in results:
        assert result.offset is not None and result.raw is not None
        assert data[result.offset : result.offset + len(result.raw)] == result.raw
    assert results[-1].offset + len(results[-1].raw) == len(data)


def _unusual(fourth: Field) -> list[pymarc.Record]:
    """Titled records with what pymarc reads its own way: a non-numeric tag, an empty
    subfield, a local indicator, ``fourth``, a subfield code outside ASCII."""
    return [
        _titled(_datafield("FMT", ("a", "BK"))),
        _titled(_datafield("500", ("a", ""), ("b", "tomt $a före"))),
        _titled(_datafield("650", ("a", "Bröder"), ("x", "ö"), indicators=" 7")),
        _titled(fourth),
        _titled(_datafield("500", ("ö", "kod utanför ASCII"))),
    ]


def test_records_are_the_ones_pymarc_itself_reads_including_unusual_ones(
    tmp_path: Path,
) -> None:
    unusual = _unusual(Field("246", Indicators("1", ""), [Subfield("a", "En indikator")]))
    path = tmp_path / "blandat.mrc"
    path.write_bytes(b"".join(_iso(list(generate_records(30)) + unusual)))

    with pytest.warns(BadSubfieldCodeWarning):
        ours = list(read_marc(path))
    with path.open("rb") as stream, pytest.warns(BadSubfieldCodeWarning):
        theirs = list(pymarc.MARCReader(stream, hide_utf8_warnings=True))

    assert len(ours) == len(theirs) == 35
    assert [str(r.record) for r in ours] == [str(record) for record in theirs]
    assert [str(r.record.leader) for r in ours] == [str(record.leader) for record in theirs]


@pytest.mark.filterwarnings("ignore::pymarc.exceptions.BadSubfieldCodeWarning")
def test_plain_records_hold_the_text_pymarc_reads_and_describe_and_hold_copies_alike(
    tmp_path: Path,
) -> None:
    unusual = _unusual(_datafield("264", ("b", "Förlaget,"), ("c", "cop. 2011"), indicators=" 1"))
    records = list(generate_records(60, seed=11, holdings_tag="952")) + unusual
    iso_path = tmp_path / "blandat.mrc"
    iso_path.write_bytes(b"".join(_iso(records)))
    xml_path = tmp_path / "blandat.xml"
    with xml_path.open("wb") as out:
        write_marcxml(records, out)

    for path in (iso_path, xml_path):
        theirs = list(read_marc(path))
        ours = list(read_marc(path, plain=True))

        assert [r.raw for r in ours] == [r.raw for r in theirs]
        assert [str(r.record.as_pymarc()) for r in ours] == [str(r.record) for r in theirs]
        assert [describe(r.record) for r in ours] == [describe(r.record) for r in theirs]
        assert [holdings(r.record, PRESETS["952"]) for r in ours] == [
            holdings(r.record, PRESETS["952"]) for r in theirs]


def _isbn_like(rng: random.Random) -> str:
    """A string that is, or nearly is, an ISBN-10, an ISBN-13 or an ISSN, often broken."""
    kind = rng.randrange(4)
    if kind == 0:
        digits = "".join(rng.choice("0123456789") for _ in range(9))
        number = digits + stdnum_isbn._calc_isbn10_check_digit(digits)
    elif kind == 1:
        digits = rng.choice(("978", "979", "977")) + "".join(
            rng.choice("0123456789") for _ in range(9))
        number = digits + stdnum_ean.calc_check_digit(digits)
    elif kind == 2:
        digits = "".join(rng.choice("0123456789") for _ in range(7))
        number = digits + stdnum_issn.calc_check_digit(digits)
    else:
        number = "".join(rng.choice("0123456789Xx- .:") for _ in range(rng.randint(0, 15)))
    for _ in range(rng.randrange(3)):
        at = rng.randint(0, len(number))
        number = number[:at] + rng.choice(("-", " ", "x", "X", "1", "\u2013", "é")) + number[at:]
    return number + rng.choice(("", "", " (inb.)", "x", "-"))


def test_isbns_are_validated_as_python_stdnum_validates_them() -> None:
    rng = random.Random(5)

    for _ in range(20_000):
        value = _isbn_like(rng)
        candidate = _ISBN_CANDIDATE.search(value)
        try:
            expected = stdnum_isbn.validate(candidate.group(), convert=True) if candidate else None
        except ValidationError:
            expected = None
        assert _valid_isbn(value) == expected, value


def test_the_search_index_tells_isbns_and_issns_as_python_stdnum_does() -> None:
    rng = random.Random(6)

    for _ in range(20_000):
        value = _isbn_like(rng)
        assert analysis._is_isbn(value) == stdnum_isbn.is_valid(value), value
        assert analysis._is_issn(value) == stdnum_issn.is_valid(value), value


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("leader", "leader is not numeric"),
        ("length", "does not end at a record terminator"),
        ("terminator", "does not end at a record terminator"),
        ("base_address", "base address"),
        ("directory", "directory entry is not numeric"),
        ("utf8", "not valid UTF-8 although leader/09 is 'a' (byte 0xFF)"),
        ("marc8", "leader/09 says MARC-8 but the text is UTF-8"),
    ],
)
def test_a_broken_record_is_reported_with_position_offset_and_reason_and_the_rest_read(
    tmp_path: Path, how: str, reason: str
) -> None:
    first, second, third = _iso(list(generate_records(3, seed=11)))
    path = tmp_path / "trasig.mrc"
    path.write_bytes(first + corrupt(second, how) + third)

    results = list(read_marc(path))

    assert [r.position for r in results] == [1, 2, 3]
    broken = results[1]
    assert broken.record is None and broken.offset == len(first)
    assert broken.error is not None and reason in broken.error
    assert _control_numbers(results) == ["1100000001", None, "1100000003"]
    assert results[2].offset == len(first) + len(second)


def test_a_record_cut_off_by_the_end_of_the_file_is_reported_with_its_length(
    tmp_path: Path,
) -> None:
    first, second = _iso(list(generate_records(2)))
    path = tmp_path / "avbruten.mrc"
    path.write_bytes(first + corrupt(second, "truncate"))

    results = list(read_marc(path))

    assert _control_numbers(results) == ["400000001", None]
    assert results[1].error == f"record length {len(second)} past end of file"
    assert results[1].raw == corrupt(second, "truncate")


def test_a_length_that_points_past_the_end_does_not_swallow_the_records_after_it(
    tmp_path: Path,
) -> None:
    records = _iso(list(generate_records(4)))
    wrong = b"99999" + records[1][5:]
    path = tmp_path / "lang.mrc"
    path.write_bytes(records[0] + wrong + records[2] + records[3])

    results = list(read_marc(path))

    assert _control_numbers(results) == ["400000001", None, "400000003", "400000004"]
    assert results[1].error == "record length 99999 past end of file"


def test_line_breaks_between_records_are_skipped_and_garbage_is_one_error(
    tmp_path: Path,
) -> None:
    first, second = _iso(list(generate_records(2)))
    path = tmp_path / "rader.mrc"
    path.write_bytes(first + b"\r\n" + b"GARBAGE\x1d" + second + b"\n")

    results = list(read_marc(path))

    assert _control_numbers(results) == ["400000001", None, "400000002"]
    assert results[1].raw == b"GARBAGE\x1d"
    assert results[1].offset == len(first) + 2


def _marc8(title: bytes) -> bytes:
    """A record in MARC-8 (leader/09 blank) whose 245 $a is ``title``, 7 bytes long."""
    iso = _record(_datafield("245", ("a", "#######"))).as_marc()
    return (iso[:9] + b" " + iso[10:]).replace(b"#######", title)


def test_marc8_records_are_decoded_and_undecodable_ones_reported() -> None:
    # MARC-8 writes a diacritic before its letter: 0xE8 is the umlaut, so E8 'o' is "ö".
    results = list(read_marc(io.BytesIO(_marc8(b"Br\xe8oder") + _marc8(b"Br\xc9oder"))))

    assert results[0].record is not None
    assert results[0].record["245"]["a"] == "Bröder"
    assert results[1].error == "byte 0xC9 is not MARC-8 (leader/09 is not 'a')"


def test_a_stream_that_trickles_a_few_bytes_at_a_time_reads_the_same() -> None:
    data = b"".join(_iso(list(generate_records(12))))
    broken = data[:100] + b"x" + data[101:]

    trickled = list(read_marc(_Trickle(broken)))
    whole = list(read_marc(io.BytesIO(broken)))

    assert [(r.position, r.offset, r.error, r.raw) for r in trickled] == [
        (r.position, r.offset, r.error, r.raw) for r in whole
    ]
    assert len(whole) == 12 and whole[0].error is not None


@pytest.mark.parametrize("writer", [write_iso2709, write_marcxml_file])
def test_memory_stays_flat_however_many_records_the_file_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: Callable[..., Path]
) -> None:
    monkeypatch.setattr(reading, "CHUNK", 8192)
    peaks = []
    for count in (150, 1500):
        path = writer(tmp_path / f"{count}.marc", count)
        tracemalloc.start()
        read = sum(1 for result in read_marc(path) if result.record is not None)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert read == count

    # Keeping records would cost kilobytes each; reading 1,350 more may cost a few bytes each.
    assert peaks[1] - peaks[0] < 1350 * 200, peaks


# --- MARCXML -------------------------------------------------------------------------------


def test_marcxml_reads_the_same_records_as_iso2709(tmp_path: Path) -> None:
    xml = write_marcxml_file(tmp_path / "katalog.xml", 25, seed=5)
    iso = write_iso2709(tmp_path / "katalog.mrc", 25, seed=5)

    from_xml = list(read_marc(xml))
    from_iso = list(read_marc(iso))

    assert all(r.error is None and r.offset is None for r in from_xml)
    assert [describe(r.record) for r in from_xml] == [describe(r.record) for r in from_iso]
    assert [pymarc.Record(r.raw).as_marc() for r in from_xml] == [r.raw for r in from_xml]


MARCXML_WITH_BAD_RECORDS = """<?xml version="1.0" encoding="UTF-8"?>
<collection xmlns="http://www.loc.gov/MARC21/slim">
 <record><leader>00000nam a2200000 i 4500</leader>
  <controlfield tag="001">A</controlfield>
  <datafield tag="245" ind1="1" ind2="0"><subfield code="a">Marsvinet</subfield></datafield>
 </record>
 <record><controlfield tag="001">B</controlfield></record>
 <record><leader>00000nam a2200000 i 4500</leader>
  <controlfield tag="245">C</controlfield></record>
 <record><leader>00000nam a2200000 i 4500</leader>
  <datafield tag="245" ind1="1" ind2="0"><subfield>D</subfield></datafield></record>
 <record><leader>short</leader><controlfield tag="001">E</controlfield></record>
 <record><leader>00000nam a2200000 i 4500</leader>
  <controlfield tag="001">F</controlfield>
  <datafield tag="245" ind1="" ind2="0"><subfield code="a">Kokbok</subfield></datafield>
 </record>
</collection>
"""


def test_a_bad_marcxml_record_is_reported_by_position_and_the_rest_read() -> None:
    results = list(read_marc(io.BytesIO(MARCXML_WITH_BAD_RECORDS.encode())))

    assert [(r.position, r.error) for r in results] == [
        (1, None),
        (2, "record has no leader"),
        (3, "controlfield tag '245' is not 001–009"),
        (4, "datafield 245 has a subfield code ''"),
        (5, "leader is 5 characters, not 24"),
        (6, None),
    ]
    assert _control_numbers(results) == ["A", None, None, None, None, "F"]
    assert results[5].record["245"].indicators == Indicators(" ", "0")


def test_marcxml_that_breaks_off_keeps_the_records_before_and_reports_where() -> None:
    document = MARCXML_WITH_BAD_RECORDS.split("<record><controlfield")[0] + "<record><leader>"

    results = list(read_marc(_Trickle(document.encode(), step=50)))

    assert [r.position for r in results] == [1, 2]
    assert results[0].record is not None
    assert results[1].error is not None
    assert results[1].error.startswith("XML is not well-formed: ")


def test_marcxml_inside_an_oai_pmh_response_is_found_under_its_prefix() -> None:
    document = """<?xml version="1.0"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
 <record><header><identifier>oai:libris:1</identifier></header><metadata>
  <marc:record xmlns:marc="http://www.loc.gov/MARC21/slim">
   <marc:leader>00000nam a2200000 i 4500</marc:leader>
   <marc:controlfield tag="001">1</marc:controlfield>
   <marc:datafield tag="245" ind1="1" ind2="0">
    <marc:subfield code="a">Hemligheten i Vindeln</marc:subfield></marc:datafield>
  </marc:record></metadata></record>
</ListRecords></OAI-PMH>"""

    results = list(read_marc(io.BytesIO(document.encode())))

    assert len(results) == 1
    assert describe(results[0].record).title == "Hemligheten i Vindeln"


# --- Describing a record -------------------------------------------------------------------


def test_a_book_is_described_with_identifiers_title_people_and_publication() -> None:
    record = _record(
        Field("003", data="SE-LIBR"),
        _datafield("020", ("a", "91-29-65739-3 (inb.)")),
        _datafield("020", ("a", "9789129688313")),
        _datafield("020", ("a", "9789129688310 (hft.)")),
        _datafield("020", ("z", "9789129657395"), ("z", "12345")),
        _datafield("084", ("a", "Hc.01"), ("2", "kssb/8")),
        _datafield("100", ("a", "Lindgren, Astrid,"), ("d", "1907-2002."), indicators="1 "),
        _datafield(
            "245", ("a", "Bröderna Lejonhjärta :"), ("b", "roman /"), ("c", "Astrid Lindgren")
        ),
        _datafield("264", ("a", "Stockholm :"), ("b", "Rabén & Sjögren,"), ("c", "[1973]"),
                   indicators=" 1"),
        _datafield("490", ("a", "Astrid Lindgrens samlade verk ;"), ("v", "12")),
        _datafield("500", ("a", "Originalupplaga 1973.")),
        _datafield("520", ("a", "Om två bröder i Nangijala.")),
        _datafield("650", ("a", "Bröder"), ("x", "sociala aspekter"), ("z", "Sverige"),
                   ("2", "sao"), indicators=" 7"),
        _datafield("655", ("a", "Romaner"), ("2", "saogf"), indicators=" 7"),
        _datafield("700", ("a", "Wikland, Ilon,"), ("4", "ill"), indicators="1 "),
        fixed=_fixed(p7="1973", p22="j", p35="swe"),
    )

    description = describe(record)

    assert description.control_number == "1"
    assert description.control_source == "SE-LIBR"
    assert description.isbns == ("9789129657395", "9789129688313")
    assert description.invalid_isbns == ("9789129688310 (hft.)", "12345")
    assert description.title == "Bröderna Lejonhjärta : roman"
    assert description.author == "Lindgren, Astrid"
    assert description.contributors == ("Wikland, Ilon",)
    assert description.publisher == "Rabén & Sjögren"
    assert description.year == 1973
    assert description.language == "swe"
    assert description.subjects == ("Bröder -- sociala aspekter -- Sverige", "Romaner")
    assert description.classification == ("Hc.01",)
    assert description.series == ("Astrid Lindgrens samlade verk",)
    assert description.notes == ("Originalupplaga 1973.", "Om två bröder i Nangijala.")
    assert description.media_type == "book"
    assert description.audience == "children"
    assert description.talking_book is False


def test_text_is_composed_and_trimmed_but_an_initial_keeps_its_period() -> None:
    decomposed = unicodedata.normalize("NFD", "Män som hatar kvinnor")
    record = _record(
        _datafield("100", ("a", "Lind, A."), indicators="1 "),
        _datafield("245", ("a", f"  {decomposed}  /"), ("c", "A. Lind")),
    )

    description = describe(record)

    assert description.title == "Män som hatar kvinnor"
    assert description.author == "Lind, A."


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([], "no 245 field"),
        ([_datafield("245", ("c", "Anna Lind"))], "245 has no $a, $b, $n or $p"),
        ([_datafield("245", ("a", " / "))], "245 has no $a, $b, $n or $p"),
    ],
)
def test_a_record_without_a_title_cannot_be_described(fields: list[Field], message: str) -> None:
    with pytest.raises(DescriptionError, match=re.escape(message)):
        describe(_record(*fields))


def test_the_year_and_language_fall_back_to_the_publication_statement_and_041() -> None:
    record = _titled(
        _datafield("041", ("a", "fin"), ("h", "swe")),
        _datafield("260", ("a", "Helsingfors :"), ("b", "Schildt,"), ("c", "c1998.")),
        fixed=_fixed(p7="19uu", p35="   "),
    )

    description = describe(record)

    assert (description.year, description.language, description.publisher) == (
        1998,
        "fin",
        "Schildt",
    )


SOUND = "00000nim a2200000 i 4500"


@pytest.mark.parametrize(
    ("record", "talking_book"),
    [
        (_titled(_datafield("084", ("a", "Hc/TC"))), True),
        (_titled(_datafield("500", ("a", "Talbok i DAISY-format")), leader=SOUND), True),
        (_titled(_datafield("500", ("a", "Inläst som daisyskiva"))), True),
        (_titled(Field("007", data="co |||||||||||"), leader=SOUND), True),
        (_titled(leader=SOUND, fixed=_fixed(p22="f")), True),
        (_titled(Field("007", data="sd fsngnnmmned"), leader=SOUND), False),
        (_titled(_datafield("500", ("a", "Originaltitel: Daisy Miller"))), False),
        (_titled(Field("007", data="co |||||||||||"), leader="00000nmm a2200000 i 4500"), False),
        (_titled(fixed=_fixed(p22="f")), False),
    ],
    ids=[
        "sab-tc",
        "daisy-note",
        "daisyskiva",
        "sound-on-optical-disc",
        "sound-for-special-audience",
        "audiobook-on-cd",
        "daisy-miller-title",
        "game-on-optical-disc",
        "book-for-special-audience",
    ],
)
def test_talking_books_are_told_by_the_swedish_signals_and_audiobooks_are_not(
    record: pymarc.Record, talking_book: bool
) -> None:
    description = describe(record)

    assert description.talking_book is talking_book
    assert (description.media_type == "talking_book") is talking_book


@pytest.mark.parametrize(
    ("leader", "fixed", "physical", "media_type"),
    [
        ("00000nam a2200000 i 4500", _fixed(), None, "book"),
        ("00000nam a2200000 i 4500", _fixed(p23="o"), None, "ebook"),
        ("00000nam a2200000 i 4500", _fixed(), "cr |n|||||||||", "ebook"),
        ("00000nas a2200000 i 4500", _fixed(), None, "periodical"),
        ("00000nim a2200000 i 4500", _fixed(), "sd fsngnnmmned", "audiobook"),
        ("00000njm a2200000 i 4500", _fixed(), None, "music"),
        ("00000ncm a2200000 i 4500", _fixed(), None, "music"),
        ("00000ngm a2200000 i 4500", _fixed(), "vd cvaizq", "film"),
        ("00000nmm a2200000 i 4500", _fixed(p26="g"), None, "game"),
        ("00000nrm a2200000 i 4500", _fixed(p33="g"), None, "game"),
        ("00000nmm a2200000 i 4500", _fixed(p26="d"), None, "other"),
        ("00000nem a2200000 i 4500", _fixed(), None, "other"),
    ],
)
def test_the_media_type_follows_leader_007_and_008(
    leader: str, fixed: str, physical: str | None, media_type: str
) -> None:
    extra = [Field("007", data=physical)] if physical else []

    assert describe(_titled(*extra, leader=leader, fixed=fixed)).media_type == media_type


@pytest.mark.parametrize(
    ("leader", "code", "audience"),
    [
        (BOOK, "a", "children"),
        (BOOK, "b", "children"),
        (BOOK, "j", "children"),
        (BOOK, "c", "youth"),
        (BOOK, "d", "youth"),
        (BOOK, "e", "adult"),
        (BOOK, "g", "adult"),
        (BOOK, " ", "adult"),
        ("00000ngm a2200000 i 4500", "j", "children"),
        # A serial's 008/22 is the form of the original, not an audience.
        ("00000nas a2200000 i 4500", "a", "adult"),
        # A map's 008/22 is part of its projection.
        ("00000nem a2200000 i 4500", "a", "adult"),
    ],
)
def test_the_audience_comes_from_008_22_where_it_means_the_audience(
    leader: str, code: str, audience: str
) -> None:
    record = _titled(leader=leader, fixed=_fixed(p22=code))

    assert describe(record).audience == audience


# --- The generated catalogue ---------------------------------------------------------------


def test_the_generated_catalogue_looks_like_a_swedish_public_librarys() -> None:
    records = list(generate_records(3000))
    descriptions = [describe(record) for record in records]
    media = Counter(d.media_type for d in descriptions)
    languages = Counter(d.language for d in descriptions)
    titles = " ".join(d.title.lower() for d in descriptions)
    isbns = [isbn for d in descriptions for isbn in d.isbns]

    assert media.most_common(1)[0][0] == "book" and media["book"] > 0.7 * len(records)
    assert 0.01 * len(records) <= media["talking_book"] <= 0.04 * len(records)
    assert media["audiobook"] > 0 and set(media) == {
        "book", "ebook", "audiobook", "talking_book", "film", "music", "periodical", "game",
        "other",
    }
    assert languages.most_common(1)[0][0] == "swe"
    assert {"eng", "fin", "ara", "som", "tir", "fas"} <= set(languages)
    for word in ("romaner", "kokbok", "bröder", "hemlighet", "marsvin", "män"):
        assert word in titles
    assert {"å", "ä", "ö"} <= set(titles)
    assert len(isbns) == len(set(isbns)) and all(stdnum_isbn.is_valid(i) for i in isbns)
    assert any(d.invalid_isbns for d in descriptions)
    assert len({d.control_number for d in descriptions}) == len(records)


def test_the_same_seed_gives_the_same_records_and_another_seed_other_numbers() -> None:
    again = [str(record) for record in generate_records(20, seed=4)]

    assert [str(record) for record in generate_records(20, seed=4)] == again
    other = {describe(r).control_number for r in generate_records(20, seed=5)}
    assert other.isdisjoint(describe(r).control_number for r in generate_records(20, seed=4))


@pytest.mark.parametrize("tag", ["852", "949", "952"])
def test_generated_items_sit_in_the_chosen_layout_with_unique_barcodes(tag: str) -> None:
    items = []
    for record in generate_records(600, holdings_tag=tag, items_per_record=(2, 3)):
        found, problems = holdings(record, PRESETS[tag])
        assert problems == []
        if describe(record).media_type != "ebook":
            assert 2 <= len(found) <= 3
        items.extend(found)

    barcodes = [item.barcode for item in items]
    assert len(barcodes) == len(set(barcodes))
    states = Counter(item.status for item in items)
    assert states["available"] > 0.9 * len(items)
    if tag != "852":
        assert {"missing", "damaged", "withdrawn"} <= set(states)


# --- Items ---------------------------------------------------------------------------------


def test_marc_holdings_852_give_branch_call_number_shelf_and_barcode() -> None:
    record = _titled(
        _datafield("852", ("b", "UMEA-STADS"), ("c", "Barn"), ("h", "uHc"), ("p", "1001")),
        _datafield("852", ("b", "VINDELN-HB"), ("p", "1002")),
    )

    found, problems = holdings(record, PRESETS["852"])

    assert problems == []
    assert [(i.barcode, i.branch_code, i.call_number, i.shelf, i.status) for i in found] == [
        ("1001", "UMEA-STADS", "uHc", "Barn", "available"),
        ("1002", "VINDELN-HB", None, None, "available"),
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("förkommen", "missing"),
        ("Skadad", "damaged"),
        ("gallrad", "withdrawn"),
        ("utlånad", "available"),
        ("0", "available"),
        ("2", "missing"),
    ],
)
def test_a_949_status_word_or_number_gives_the_items_state(status: str, expected: str) -> None:
    record = _titled(_datafield("949", ("a", "BJURHOLM-HB"), ("b", "2001"), ("s", status)))

    found, _ = holdings(record, PRESETS["949"])

    assert found[0].status == expected


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], "available"),
        ([("1", "0"), ("4", "0"), ("0", "0")], "available"),
        ([("1", "1")], "missing"),
        ([("4", "1")], "damaged"),
        ([("0", "1")], "withdrawn"),
        ([("1", "1"), ("4", "1")], "missing"),
        ([("1", "2"), ("0", "1")], "withdrawn"),
    ],
)
def test_koha_lost_damaged_and_withdrawn_flags_give_the_items_state(
    flags: list[tuple[str, str]], expected: str
) -> None:
    record = _titled(
        _datafield("952", ("a", "VANNAS-HB"), ("p", "3001"), ("o", "Hc"), ("c", "Vuxen"), *flags)
    )

    found, _ = holdings(record, PRESETS["952"])

    assert (found[0].call_number, found[0].shelf, found[0].status) == ("Hc", "Vuxen", expected)


def test_an_item_field_without_barcode_or_branch_is_a_problem_and_the_others_still_count() -> (
    None
):
    record = _titled(
        _datafield("952", ("a", "UMEA-TEG"), ("p", "4001")),
        _datafield("952", ("a", "UMEA-TEG")),
        _datafield("952", ("p", "4003")),
        _datafield("952", ("o", "Hc"), ("p", "  ")),
        _datafield("952", ("a", "UMEA-TEG"), ("p", "4001")),
        _datafield("952", ("a", "UMEA-TEG"), ("p", "4006")),
    )

    found, problems = holdings(record, PRESETS["952"])

    assert [item.barcode for item in found] == ["4001", "4006"]
    assert problems == [
        "952 #2: no barcode ($p)",
        "952 #3: no branch ($a)",
        "952 #4: no barcode ($p) and no branch ($a)",
        "952 #5: barcode 4001 appears twice",
    ]


def test_a_site_of_its_own_maps_its_item_field_with_a_mapping_of_its_own() -> None:
    mapping = HoldingsMapping(
        tag="949", barcode="i", branch="l", call_number=None, shelf=None, status=None
    )
    record = _titled(_datafield("949", ("l", "NORDMALING-HB"), ("i", "5001"), ("c", "Hc")))

    found, problems = holdings(record, mapping)

    assert problems == []
    assert (found[0].barcode, found[0].branch_code, found[0].call_number) == (
        "5001",
        "NORDMALING-HB",
        None,
    )


# --- Export --------------------------------------------------------------------------------


def test_stored_records_export_as_marcxml_that_pymarc_reads_back() -> None:
    records = list(generate_records(15, seed=9))
    marc8 = _marc8(b"Br\xe8oder")
    with_control_character = _titled(_datafield("500", ("a", "Escape \x1b(B kvar")))
    out = io.BytesIO()

    count = write_marcxml([*_iso(records), marc8, with_control_character], out)

    assert count == 17
    exported = pymarc.parse_xml_to_array(io.BytesIO(out.getvalue()), strict=True)
    assert [r.as_marc() for r in exported[:15]] == _iso(records)
    assert exported[15]["245"]["a"] == "Bröder"
    assert exported[16]["500"]["a"] == "Escape (B kvar"
    assert all(str(r.leader)[9] == "a" for r in exported)


def test_an_export_read_back_describes_every_record_as_before(tmp_path: Path) -> None:
    source = list(read_marc(write_iso2709(tmp_path / "ut.mrc", 30, holdings_tag="952")))
    path = tmp_path / "ut.xml"

    with path.open("wb") as out:
        write_marcxml((r.raw for r in source), out)
    again = list(read_marc(path))

    assert [describe(r.record) for r in again] == [describe(r.record) for r in source]
    assert [holdings(r.record, PRESETS["952"]) for r in again] == [
        holdings(r.record, PRESETS["952"]) for r in source
    ]


def test_stored_bytes_that_are_not_iso2709_stop_the_export_naming_the_record() -> None:
    good = _iso(list(generate_records(1)))[0]

    with pytest.raises(ValueError, match="record 2 is not ISO 2709"):
        write_marcxml([good, corrupt(good, "utf8")], io.BytesIO())
