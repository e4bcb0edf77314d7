"""Without the real nova-api: skip for a developer, fail in CI, fail on a half export or
a URL where nothing answers. These run everywhere (no Nova needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.realnova.service import PREFIX, REQUIRE, NovaService, require_nova

COMPLETE = {
    PREFIX + "URL": "http://127.0.0.1:9/v2.1",  # port 9 (discard): nothing listens
    PREFIX + "ADMIN_URL": "http://127.0.0.1:9/admin/v2.1",
    PREFIX + "VERSION": "34.0.0",
    PREFIX + "MAX_MICROVERSION": "2.104",
    PREFIX + "PROJECT_ID": "6f70656e737461636b20342065766572",
    PREFIX + "IMAGE_ID": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
    PREFIX + "NETWORK_ID": "3cb9bc59-5699-4588-a4b1-b87f96708bc6",
    PREFIX + "FLAVOR_ID": "1",
    PREFIX + "FLAVOR_NAME": "m1.tiny",
    PREFIX + "VOLUME_ID": "6ca404f3-d844-4169-bb96-bc792f37de98",
    PREFIX + "SNAPSHOT_ID": "7c1a5e0e-5b2c-4d3e-8f4a-6b7c8d9e0f10",
    PREFIX + "PORT_ID": "ce531f90-199f-48c0-816c-13e38010b442",
    PREFIX + "VENV_PYTHON": "/tmp/nova-venv/bin/python",
    PREFIX + "COMPUTES": "6",
    PREFIX + "DIR": "/tmp/bulkboot-nova.none",
}


def test_without_nova_a_developer_skips_with_the_command_to_start_it() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"BULKBOOT_NOVA_URL is unset.*\.ci/nova start"):
        require_nova({})


def test_without_nova_ci_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE}=1 but no real Nova"):
        require_nova({REQUIRE: "1"})


def test_an_incomplete_export_fails_naming_what_is_missing() -> None:
    environ = dict(COMPLETE)
    del environ[PREFIX + "IMAGE_ID"], environ[PREFIX + "DIR"]
    with pytest.raises(pytest.fail.Exception) as caught:
        require_nova(environ)
    assert "BULKBOOT_NOVA_IMAGE_ID" in str(caught.value)
    assert "BULKBOOT_NOVA_DIR" in str(caught.value)


def test_a_nova_that_does_not_answer_fails_even_outside_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match="does not answer"):
        require_nova(COMPLETE)


def test_the_clouds_yaml_reaches_nova_without_keystone(tmp_path: Path) -> None:
    service = NovaService.from_environ(COMPLETE)
    assert service is not None and service.computes == 6
    written = yaml.safe_load(service.write_clouds_yaml(tmp_path).read_text())
    assert written == {
        "clouds": {
            "realnova": {
                "auth_type": "none",
                "compute_endpoint_override": "http://127.0.0.1:9/v2.1",
            },
            "realnova-admin": {
                "auth_type": "none",
                "compute_endpoint_override": "http://127.0.0.1:9/admin/v2.1",
            },
        }
    }
