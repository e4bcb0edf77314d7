"""Microversions: parsing, ordering, negotiation and the field gates validation uses."""

from __future__ import annotations

import pytest

from bulkboot.errors import MicroversionSyntaxError, UsageError
from bulkboot.pipeline import microversion as mv
from bulkboot.pipeline.microversion import MAX_SUPPORTED, Microversion


def test_versions_compare_numerically() -> None:
    assert mv.parse("2.9") < mv.parse("2.10") < mv.parse("2.74")
    assert str(mv.parse(" 2.10 ")) == "2.10"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2.x", "'2.x' is not a microversion: expected 'auto' or '2.N', like '2.74'"),
        ("02.1", "'02.1' is not a microversion"),
        ("3.1", "microversion 3.1 is not a compute 2.x microversion"),
        ("2.0", "microversion 2.0 is outside what bulkboot supports (2.1 to 2.104)"),
        ("2.105", "microversion 2.105 is outside what bulkboot supports (2.1 to 2.104)"),
    ],
)
def test_parse_refuses_with_a_users_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        mv.parse(text)


def test_a_badly_written_version_is_a_usage_error_and_still_a_value_error() -> None:
    for text in ("2.x", "3.1", "2.105"):
        with pytest.raises(MicroversionSyntaxError) as info:
            mv.offline(text)
        assert isinstance(info.value, UsageError)
        assert isinstance(info.value, ValueError)
        assert info.value.exit_code == 2


def test_bulkboot_speaks_up_to_nova_34() -> None:
    """Nova 34 (2025.2) serves 2.1-2.104: every one of them parses."""
    assert MAX_SUPPORTED == Microversion(2, 104)
    for minor in range(1, 105):
        assert mv.parse(f"2.{minor}") == Microversion(2, minor)


def test_negotiate_auto_takes_the_highest_common_version() -> None:
    assert mv.negotiate("auto", Microversion(2, 1), Microversion(2, 110)) == MAX_SUPPORTED
    assert mv.negotiate("auto", Microversion(2, 1), Microversion(2, 104)) == Microversion(2, 104)
    assert mv.negotiate("auto", Microversion(2, 1), Microversion(2, 100)) == Microversion(2, 100)
    assert mv.negotiate("2.104", Microversion(2, 1), Microversion(2, 104)) == Microversion(2, 104)
    assert mv.negotiate("auto", Microversion(2, 1), Microversion(2, 60)) == Microversion(2, 60)
    assert mv.negotiate("2.42", Microversion(2, 1), Microversion(2, 60)) == Microversion(2, 42)
    with pytest.raises(ValueError, match="outside the server's range"):
        mv.negotiate("2.70", Microversion(2, 1), Microversion(2, 60))


def test_offline_validation_uses_the_newest_for_auto() -> None:
    assert mv.offline("auto") == MAX_SUPPORTED
    assert mv.offline("AUTO") == MAX_SUPPORTED
    assert mv.offline("2.37") == Microversion(2, 37)
    with pytest.raises(ValueError):
        mv.offline("latest-ish")


@pytest.mark.parametrize(
    ("field", "refused", "accepted", "words"),
    [
        ("description", "2.18", "2.19", "2.19 or later"),
        ("tags", "2.51", "2.52", "2.52 or later"),
        ("files", "2.57", "2.56", "up to 2.56"),
        ("trusted_image_certificates", "2.62", "2.63", "2.63 or later"),
        ("host", "2.73", "2.74", "2.74 or later"),
        ("hypervisor_hostname", "2.73", "2.74", "2.74 or later"),
        ("hostname", "2.89", "2.90", "2.90 or later"),
    ],
)
def test_field_gates_follow_nova_boot(field: str, refused: str, accepted: str, words: str) -> None:
    assert not mv.field_supported(field, mv.parse(refused))
    assert mv.field_supported(field, mv.parse(accepted))
    assert mv.gate_text(field) == words


def test_ungated_fields_are_always_supported() -> None:
    assert mv.field_supported("flavor", mv.parse("2.1"))
    assert mv.gate_text("flavor") == "any version"


def test_tag_and_network_gates() -> None:
    nic = [m for m in range(1, 105) if mv.supports_nic_tags(Microversion(2, m))]
    assert nic == [*range(32, 37), *range(42, 105)]
    bdm = [m for m in range(1, 105) if mv.supports_bdm_tags(Microversion(2, m))]
    assert bdm == [32, *range(42, 105)]
    assert not mv.supports_auto_networks(Microversion(2, 36))
    assert mv.supports_auto_networks(Microversion(2, 37))
    assert not mv.supports_volume_type(Microversion(2, 66))
    assert mv.supports_volume_type(Microversion(2, 67))
    assert not mv.supports_fqdn_hostname(Microversion(2, 93))
    assert mv.supports_fqdn_hostname(Microversion(2, 94))
    assert mv.supports_fqdn_hostname(Microversion(2, 104))


def test_the_flavor_name_filter_exists_from_2_102() -> None:
    assert not mv.supports_flavor_name_filter(Microversion(2, 101))
    assert mv.supports_flavor_name_filter(Microversion(2, 102))
    assert mv.supports_flavor_name_filter(Microversion(2, 104))


def test_headers_carry_both_names() -> None:
    assert Microversion(2, 60).headers() == {
        "X-OpenStack-Nova-API-Version": "2.60",
        "OpenStack-API-Version": "compute 2.60",
    }
