"""Fixtures the sandbox tests share."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def desktop_server(tmp_path_factory):
    """``serve --quickbooks desktop`` in its own process, seeded tiny: the Desktop company over
    HTTP (its admin client; ``connections["quickbooks_desktop"]`` says where)."""
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(
        tmp_path_factory.mktemp("qbd-http"),
        seed="tiny",
        extra_args=["--quickbooks", "desktop", "--only", "quickbooks_desktop"],
    )
    admin = process.start()
    try:
        yield admin
    finally:
        admin.session.close()
        process.stop()
