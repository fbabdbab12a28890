"""sites: several places in one deployment (issue 12)

``site_profile`` (the site file's ``site:`` block) becomes ``site``, with a URL slug and its own
timezone; every space belongs to a site, and a member's staff roles can be scoped to sites
(``member.site_ids``, empty = every site). An install that already has spaces keeps them all in
its one site (created if no site file was ever loaded).

Revision ID: 0012_sites
Revises: 0008b_outbox_programme
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tierslieu.text import slugify

revision: str = "0012_sites"
down_revision: str | Sequence[str] | None = "0008b_outbox_programme"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULT_NAME = "Site principal"


def upgrade() -> None:
    op.rename_table("site_profile", "site")
    with op.batch_alter_table("site") as batch:
        batch.add_column(sa.Column("slug", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=False, server_default="Europe/Paris"))
    bind = op.get_bind()
    sites = bind.execute(sa.text("SELECT id, name, data FROM site ORDER BY id")).all()
    for site_id, name, _data in sites:
        bind.execute(sa.text("UPDATE site SET slug = :slug WHERE id = :id"), {"slug": slugify(name), "id": site_id})
    has_spaces = bind.execute(sa.text("SELECT 1 FROM space LIMIT 1")).first() is not None
    if not sites and has_spaces:
        bind.execute(
            sa.text(
                "INSERT INTO site (name, slug, timezone, data, updated_at) "
                "VALUES (:n, :s, 'Europe/Paris', '{}', CURRENT_TIMESTAMP)"
            ),
            {"n": _DEFAULT_NAME, "s": slugify(_DEFAULT_NAME)},
        )
    with op.batch_alter_table("site") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_site_slug", ["slug"], unique=True)

    with op.batch_alter_table("space") as batch:
        batch.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
    first = bind.execute(sa.text("SELECT id FROM site ORDER BY id LIMIT 1")).scalar()
    if first is not None:
        bind.execute(sa.text("UPDATE space SET site_id = :id"), {"id": first})
    with op.batch_alter_table("space") as batch:
        batch.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_space_site_id_site", "site", ["site_id"], ["id"], ondelete="RESTRICT")
        batch.create_index("ix_space_site_id", ["site_id"])

    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("site_ids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("site_ids")
    with op.batch_alter_table("space") as batch:
        batch.drop_index("ix_space_site_id")
        batch.drop_constraint("fk_space_site_id_site", type_="foreignkey")
        batch.drop_column("site_id")
    with op.batch_alter_table("site") as batch:
        batch.drop_index("ix_site_slug")
        batch.drop_column("timezone")
        batch.drop_column("slug")
    op.rename_table("site", "site_profile")
