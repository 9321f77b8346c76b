"""Numbers keep the library's formatting, worked out once when stored.

Revision ID: switchboard_0005
Revises: switchboard_0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision: str = 'switchboard_0005'
down_revision: str | None = 'switchboard_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_numbers = sa.table('switchboard_numbers', sa.column('municipality_id', sa.Uuid()),
                    sa.column('id', sa.Uuid()), sa.column('e164', sa.String()),
                    sa.column('formatted', sa.String()))


def upgrade() -> None:
    with op.batch_alter_table('switchboard_numbers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('formatted', sa.String(length=40), nullable=False,
                                      server_default=''))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_numbers.c.municipality_id, _numbers.c.id,
                                        _numbers.c.e164).where(_numbers.c.e164.is_not(None)))
    values = [{"m": m, "i": i, "f": _formatted(e164)} for m, i, e164 in rows]
    if values:
        connection.execute(
            _numbers.update().where(_numbers.c.municipality_id == sa.bindparam('m'),
                                    _numbers.c.id == sa.bindparam('i'))
            .values(formatted=sa.bindparam('f')), values)


def downgrade() -> None:
    with op.batch_alter_table('switchboard_numbers', schema=None) as batch_op:
        batch_op.drop_column('formatted')


def _formatted(e164: str) -> str:
    # As switchboard.numbers.format_number does it today (a migration keeps its own copy).
    parsed = phonenumbers.parse(e164, None)
    form = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 46
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, form)[:40]
