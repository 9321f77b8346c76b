"""``samverkan library``: importing MARC files into the shared catalogue and exporting it.

An import runs in this process, not through the worker, in the scope of the municipality
whose copies the file lists, and commits after every batch as the worker's task does: a
progress bar follows the file, and an interrupted import keeps the batches it finished.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click
from sqlalchemy.orm import Session

from library_loans.marc import PRESETS
from library_loans.search.index import index_fields
from services.settings_ext import committing_session

if TYPE_CHECKING:
    from library_loans.operations.catalogue import ImportSummary

PROBLEMS_SHOWN = 20


def register(group: click.Group) -> None:
    """Add the ``library`` commands to the ``samverkan`` command."""
    group.add_command(library)


@click.group()
def library() -> None:
    """The library consortium's shared catalogue."""


@library.command("import-marc")
@click.argument("path", metavar="FILE",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--municipality", "slug", required=True,
              help="Slug of the municipality whose copies the file lists.")
@click.option("--layout", type=click.Choice(sorted(PRESETS)), default="852", show_default=True,
              help="The field that holds a copy: 852 (MARC holdings), 949 (local) or 952 (Koha).")
def import_marc_command(path: Path, slug: str, layout: str) -> None:
    """Import FILE (ISO 2709 or MARCXML, told by its content) into the catalogue."""
    from library_loans.operations.catalogue import import_marc
    from services.tenancy import TenantScope, tenant_scope
    from services.tenancy.operations import MunicipalityError, find_municipality

    with _session() as session:
        try:
            municipality = find_municipality(session, slug)
        except MunicipalityError as error:
            raise click.ClickException(str(error)) from error
        with (tenant_scope(TenantScope.of([municipality.id])), path.open("rb") as stream,
              click.progressbar(length=path.stat().st_size, label=f"importing {path.name}",
                                file=sys.stderr) as bar):

            def commit_batch(_summary: ImportSummary) -> None:
                session.commit()
                bar.update(stream.tell() - bar.pos)

            summary = import_marc(session, stream, municipality_id=municipality.id,
                                  layout=layout, progress=commit_batch, on_described=index_fields)
    _print_summary(summary)


@library.command("export-marcxml")
@click.argument("out", metavar="FILE", type=click.File("wb"))
def export_marcxml_command(out: BinaryIO) -> None:
    """Write the whole catalogue to FILE as a MARCXML collection ("-": standard output)."""
    from library_loans.operations.catalogue import export_marcxml

    with _session() as session:
        count = export_marcxml(session, out)
    click.echo(f"exported {count} records", err=True)


def _session() -> contextlib.AbstractContextManager[Session]:
    """A session on the database the ``samverkan`` command's settings name."""
    return committing_session(click.get_current_context().find_root().obj)


def _print_summary(summary: ImportSummary) -> None:
    """What the import did, and the first problems it met."""
    unchanged = summary.processed - summary.added - summary.updated - summary.rejected
    click.echo(f"{summary.processed} records: {summary.added} added, {summary.updated} updated, "
               f"{unchanged} unchanged, {summary.rejected} rejected")
    click.echo(f"copies: {summary.items_added} added, {summary.items_updated} updated")
    for problem in summary.problems[:PROBLEMS_SHOWN]:
        where = f"record {problem['position']}"
        if problem["offset"] is not None:
            where += f" (byte {problem['offset']})"
        click.echo(f"  {where}: {problem['reason']}")
    if len(summary.problems) > PROBLEMS_SHOWN:
        click.echo(f"  … and {len(summary.problems) - PROBLEMS_SHOWN} more problems")
