import pytest

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.store.migrate import NotMigrated


def test_app_refuses_an_unmigrated_database_and_says_what_to_run(tmp_path):
    with pytest.raises(NotMigrated, match="ketacare db upgrade"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/empty.db"))
