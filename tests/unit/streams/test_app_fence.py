"""The rebalance fence several workers on one store rely on (README, How writes scale)."""
from __future__ import annotations

from schemas.settings import Settings
from streams.app import create_app


def test_a_revoked_partition_waits_for_every_taken_message_to_be_acknowledged(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, app_id="fence-test"))
    assert app.conf.stream_wait_empty is True
