"""MARC 21 for the shared catalogue: reading files, describing records, items, export."""

from library_loans.marc.describe import Description, DescriptionError, describe
from library_loans.marc.export import write_marcxml
from library_loans.marc.holdings import PRESETS, Holding, HoldingsMapping, holdings
from library_loans.marc.plain import PlainField, PlainRecord
from library_loans.marc.reading import ReadResult, read_marc, sniff_format

__all__ = [
    "PRESETS",
    "Description",
    "DescriptionError",
    "Holding",
    "HoldingsMapping",
    "PlainField",
    "PlainRecord",
    "ReadResult",
    "describe",
    "holdings",
    "read_marc",
    "sniff_format",
    "write_marcxml",
]
