"""The files in sql/ follow the migration rules."""

from pathlib import Path

import pytest

from impl.db.migrations import MigrationError, load_migrations
from impl.resources import MIGRATIONS_DIR


def test_every_migration_in_sql_has_an_up_and_a_down() -> None:
    migrations = load_migrations()

    assert migrations
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.up_sql.strip() and m.down_sql.strip() for m in migrations)
    assert len(list(MIGRATIONS_DIR.glob("*.sql"))) == 2 * len(migrations)


def test_migration_without_a_down_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_first.up.sql").write_text("SELECT 1;")

    with pytest.raises(MigrationError, match="both an up and a down"):
        load_migrations(tmp_path)


@pytest.mark.parametrize("name", ["1_first.up.sql", "0001-first.up.sql", "0001_First.up.sql"])
def test_badly_named_file_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")

    with pytest.raises(MigrationError, match="expected NNNN_name"):
        load_migrations(tmp_path)


def test_two_migrations_with_one_number_are_refused(tmp_path: Path) -> None:
    for name in ("first", "second"):
        for direction in ("up", "down"):
            (tmp_path / f"0001_{name}.{direction}.sql").write_text("SELECT 1;")

    with pytest.raises(MigrationError, match="two migrations are numbered 0001"):
        load_migrations(tmp_path)


def test_checksum_changes_with_the_up_file() -> None:
    (migration,) = load_migrations()[:1]

    edited = type(migration)(migration.version, migration.name, migration.up_sql + " ", "")

    assert edited.checksum != migration.checksum
