"""clouds.yaml / secure.yaml / OS_* resolution, checked against openstacksdk's own loader."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkboot.cloud.config import (
    CloudConfig,
    config_from_mapping,
    load_cloud_config,
    wants_embedded_simulator,
)
from bulkboot.errors import ConfigError

PASSWORD = "s3cr3t-pw"
DEVSTACK = {
    "auth": {
        "auth_url": "http://10.0.0.1/identity",
        "username": "admin",
        "password": PASSWORD,
        "project_name": "demo",
        "user_domain_id": "default",
        "project_domain_id": "default",
    },
    "region_name": "RegionOne",
}


class Layout:
    """A sandbox: cwd, home, a system folder, and the environment that points at them."""

    def __init__(self, root: Path) -> None:
        self.cwd = root / "work"
        self.home = root / "home"
        self.system = root / "etc-openstack"
        for d in (self.cwd, self.home / ".config" / "openstack", self.system):
            d.mkdir(parents=True)
        self.environ: dict[str, str] = {"HOME": str(self.home)}

    @property
    def user_dir(self) -> Path:
        return self.home / ".config" / "openstack"

    def write(self, folder: Path, name: str, data: Any) -> Path:
        path = folder / name
        path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
        return path

    def load(self, name: str | None = None) -> CloudConfig:
        return load_cloud_config(
            name, environ=self.environ, cwd=self.cwd, system_dirs=(self.system,)
        )


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path)


def cloud(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"auth": dict(DEVSTACK["auth"]), "region_name": "RegionOne"}
    auth = changes.pop("auth", {})
    entry["auth"].update(auth)
    entry.update(changes)
    return entry


# ---------------------------------------------------------------- which file, which cloud

ENV_CLOUD = {
    "OS_AUTH_URL": "http://env/identity",
    "OS_USERNAME": "u",
    "OS_PASSWORD": "p",
    "OS_USER_DOMAIN_NAME": "Default",
}

# (files present, environment, name asked) -> the auth_url that wins
PRECEDENCE = [
    pytest.param({"cwd": "cwd", "user": "user", "system": "sys"}, {}, "c", "cwd", id="cwd-first"),
    pytest.param({"user": "user", "system": "sys"}, {}, "c", "user", id="user-dir-next"),
    pytest.param({"system": "sys"}, {}, "c", "sys", id="system-last"),
    pytest.param(
        {"cwd": "cwd", "explicit": "explicit"},
        {"OS_CLIENT_CONFIG_FILE": "{explicit}"},
        "c",
        "explicit",
        id="OS_CLIENT_CONFIG_FILE-beats-cwd",
    ),
    pytest.param({"cwd": "cwd"}, {"OS_CLOUD": "c"}, None, "cwd", id="OS_CLOUD-selects"),
    pytest.param({"cwd": "cwd"}, {}, None, "cwd", id="only-cloud-is-default"),
    pytest.param(
        {"cwd": "cwd"},
        ENV_CLOUD,
        None,
        "env",
        id="envvars-cloud-is-default-over-only-file-cloud",
    ),
    pytest.param(
        {"cwd": "cwd"},
        {"OS_CLOUD": "c", "OS_AUTH_URL": "http://env/identity"},
        None,
        "cwd",
        id="OS_CLOUD-beats-envvars",
    ),
    pytest.param(
        {"cwd": "cwd"},
        ENV_CLOUD,
        "c",
        "cwd",
        id="name-given-beats-envvars",
    ),
    pytest.param(
        {"cwd": "cwd"},
        {"OS_PASSWORD": "from-env", "OS_CLOUD": "c"},
        "c",
        "cwd",
        id="env-does-not-leak-into-file-cloud",
    ),
]


@pytest.mark.parametrize(("files", "env", "name", "winner"), PRECEDENCE)
def test_precedence_table(
    layout: Layout, files: dict[str, str], env: dict[str, str], name: str | None, winner: str
) -> None:
    folders = {"cwd": layout.cwd, "user": layout.user_dir, "system": layout.system}
    explicit = layout.cwd.parent / "elsewhere.yaml"
    for where, tag in files.items():
        data = {"clouds": {"c": cloud(auth={"auth_url": f"http://{tag}/identity"})}}
        if where == "explicit":
            explicit.write_text(yaml.safe_dump(data))
        else:
            layout.write(folders[where], "clouds.yaml", data)
    layout.environ.update({k: v.format(explicit=explicit) for k, v in env.items()})
    config = layout.load(name)
    assert config.auth_url == f"http://{winner}/identity"
    assert config.password == (PASSWORD if winner != "env" else "p")


@pytest.mark.filterwarnings("ignore::Warning:openstack.*")
def test_same_precedence_as_openstacksdk(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    """The oracle: openstacksdk resolves the same files and variables to the same values."""
    from openstack.config import loader

    layout.write(
        layout.cwd,
        "clouds.yaml",
        {
            "clouds": {
                "a": cloud(auth={"project_name": "inside"}, project_name="outside"),
                "t": cloud(auth={"project_name": "new", "tenant_name": "old"}, tenant_name="x"),
                "d": {
                    "auth": {
                        "auth_url": "http://k/v3",
                        "username": "u",
                        "password": "p",
                        "project_name": "pr",
                        "domain_name": "Dom",
                    },
                    "region_name": "R1",
                },
                "b": cloud(
                    auth={"password": "only-in-clouds"},
                    regions=[
                        "RegionOne",
                        {"name": "RegionTwo", "values": {"interface": "internal"}},
                    ],
                ),
            }
        },
    )
    layout.write(layout.cwd, "secure.yaml", {"clouds": {"b": {"auth": {"password": "secure"}}}})
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(layout.home))
    monkeypatch.chdir(layout.cwd)
    sdk = loader.OpenStackConfig(
        config_files=[str(layout.cwd / "clouds.yaml")],
        secure_files=[str(layout.cwd / "secure.yaml")],
        vendor_files=[],
    )
    for name, region in (("a", None), ("t", None), ("d", None), ("b", None), ("b", "RegionTwo")):
        # OS_REGION_NAME as the `openstack` CLI reads it: osc_lib's --os-region-name
        # defaults to it and is passed to get_one (the bare loader would ignore it).
        layout.environ.pop("OS_REGION_NAME", None)
        monkeypatch.delenv("OS_REGION_NAME", raising=False)
        if region:
            layout.environ["OS_REGION_NAME"] = region
            monkeypatch.setenv("OS_REGION_NAME", region)
        ours = layout.load(name)
        theirs = sdk.get_one(name, region_name=os.environ.get("OS_REGION_NAME", "")).config
        assert ours.project_name == theirs["auth"]["project_name"]
        assert ours.password == theirs["auth"]["password"]
        assert ours.region_name == theirs["region_name"]
        assert ours.interface == theirs["interface"]
        auth = theirs["auth"]
        assert ours.user_domain_name == auth.get("user_domain_name")
        assert ours.project_domain_name == auth.get("project_domain_name")
        assert ours.user_domain_id == auth.get("user_domain_id")
        assert ours.project_domain_id == auth.get("project_domain_id")


@pytest.mark.filterwarnings("ignore::Warning:openstack.*")
def test_os_region_name_as_openstacksdk_and_the_cli_read_it(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment's cloud takes OS_REGION_NAME as its region, in the loader itself;
    for a file's cloud it is the `openstack` CLI's --os-region-name default (osc_lib), a
    region picked from the cloud's ``regions:`` -- not ignored, as the bare loader would."""
    from openstack.config import loader

    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(layout.home))
    monkeypatch.chdir(layout.cwd)
    env = {
        "OS_AUTH_URL": "http://k/v3",
        "OS_USERNAME": "u",
        "OS_PASSWORD": "p",
        "OS_USER_DOMAIN_NAME": "D",
        "OS_PROJECT_NAME": "pr",
        "OS_PROJECT_DOMAIN_NAME": "D",
        "OS_REGION_NAME": "RegionTwo",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    layout.environ.update(env)
    sdk = loader.OpenStackConfig(config_files=[], secure_files=[], vendor_files=[])
    theirs = sdk.get_one().config  # no region given: the envvars cloud's own
    ours = layout.load()
    assert (
        (ours.name, ours.region_name)
        == ("envvars", theirs["region_name"])
        == (
            "envvars",
            "RegionTwo",
        )
    )

    # A file's cloud, OS_CLOUD and OS_REGION_NAME only (selectors: no envvars cloud).
    for key in env:
        if key != "OS_REGION_NAME":
            monkeypatch.delenv(key)
            layout.environ.pop(key)
    regions = ["RegionOne", {"name": "RegionTwo", "values": {"interface": "internal"}}]
    path = layout.write(layout.cwd, "clouds.yaml", {"clouds": {"m": cloud(regions=regions)}})
    monkeypatch.setenv("OS_CLOUD", "m")
    layout.environ["OS_CLOUD"] = "m"
    sdk = loader.OpenStackConfig(config_files=[str(path)], secure_files=[], vendor_files=[])
    cli = sdk.get_one(region_name=os.environ["OS_REGION_NAME"]).config  # `openstack ...`
    ours = layout.load()
    assert (ours.region_name, ours.interface) == (cli["region_name"], cli["interface"])
    assert (ours.region_name, ours.interface) == ("RegionTwo", "internal")
    assert sdk.get_one().config["region_name"] == "RegionOne"  # the bare loader's choice


def test_secure_yaml_is_merged_over_clouds_yaml(layout: Layout) -> None:
    entry = cloud()
    del entry["auth"]["password"]
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    layout.write(layout.user_dir, "secure.yaml", {"clouds": {"c": {"auth": {"password": "sec"}}}})
    config = layout.load("c")
    assert config.password == "sec"
    assert config.username == "admin"


def test_environment_cloud_reads_os_variables(layout: Layout) -> None:
    cert = layout.cwd / "ca.pem"
    cert.write_text("x")
    layout.environ.update(
        {
            "OS_AUTH_URL": "https://keystone.example/v3/",
            "OS_USERNAME": "alice",
            "OS_PASSWORD": "pw",
            "OS_PROJECT_NAME": "p",
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": "RegionTwo",
            "OS_INTERFACE": "internal",
            "OS_CACERT": str(cert),
            "OS_COMPUTE_API_VERSION": "2.79",
        }
    )
    config = layout.load()
    assert config.name == "envvars"
    assert config.auth_url == "https://keystone.example/v3"
    assert (config.username, config.project_name, config.region_name) == ("alice", "p", "RegionTwo")
    assert config.interface == "internal"
    assert config.cacert == str(cert)
    assert config.verify is True
    assert config.compute_api_version == "2.79"


def test_selectors_alone_make_no_environment_cloud(layout: Layout) -> None:
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": cloud()}})
    layout.environ.update({"OS_CLOUD": "c", "OS_REGION_NAME": "RegionOne"})
    assert layout.load().name == "c"


def test_os_cloud_name_renames_the_environment_cloud(layout: Layout) -> None:
    layout.environ.update({"OS_CLOUD_NAME": "mine", "OS_TOKEN": "tok", "OS_AUTH_URL": "http://k"})
    config = layout.load()
    assert (config.name, config.auth_type, config.token) == ("mine", "token", "tok")


def test_environment_cloud_name_clash_is_an_error(layout: Layout) -> None:
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"envvars": cloud()}})
    layout.environ["OS_AUTH_URL"] = "http://x"
    with pytest.raises(ConfigError, match="OS_CLOUD_NAME"):
        layout.load()


# ---------------------------------------------------------------- settings


def test_auth_section_wins_but_project_outside_wins(layout: Layout) -> None:
    entry = cloud(auth={"project_name": "inside", "username": "inside"})
    entry.update({"project_name": "outside", "username": "outside"})
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    config = layout.load("c")
    assert config.project_name == "outside"
    assert config.username == "inside"


def test_legacy_spellings(layout: Layout) -> None:
    entry = {
        "auth_type": "v3password",
        "endpoint_type": "internalURL",
        "auth": {
            "auth-url": "http://k/v3",
            "username": "u",
            "password": "p",
            "tenant_name": "t",
            "domain_name": "D",
        },
    }
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    config = layout.load("c")
    assert config.auth_type == "password"
    assert config.interface == "internal"
    assert config.project_name == "t"
    assert config.user_domain_name == config.project_domain_name == "D"


def test_region_values_override_the_cloud(layout: Layout) -> None:
    entry = cloud(
        regions=[
            "RegionOne",
            {"name": "RegionTwo", "values": {"compute_endpoint_override": "http://two/v2.1"}},
        ]
    )
    del entry["region_name"]
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    assert layout.load("c").region_name == "RegionOne"
    layout.environ["OS_REGION_NAME"] = "RegionTwo"
    config = layout.load("c")
    assert config.region_name == "RegionTwo"
    assert config.compute_endpoint_override == "http://two/v2.1"
    layout.environ["OS_REGION_NAME"] = "regiontwo"
    with pytest.raises(ConfigError, match=r"'regiontwo' is not one of its regions \(RegionOne"):
        layout.load("c")


@pytest.mark.parametrize(
    ("settings", "verify", "cacert"),
    [
        ({}, True, False),
        ({"verify": False}, False, False),
        ({"insecure": "true"}, False, False),
        ({"cacert": "{ca}"}, True, True),
        ({"cacert": "{ca}", "verify": False}, False, True),
        ({"verify": "{ca}"}, True, True),
    ],
)
def test_tls_settings(layout: Layout, settings: dict[str, Any], verify: bool, cacert: bool) -> None:
    ca = layout.cwd / "ca.pem"
    ca.write_text("x")
    entry = cloud(
        **{k: (v.format(ca=ca) if isinstance(v, str) else v) for k, v in settings.items()}
    )
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    config = layout.load("c")
    assert config.verify is verify
    assert (config.cacert == str(ca)) is cacert


def test_each_auth_type(layout: Layout) -> None:
    clouds = {
        "pw": cloud(auth_type="password"),
        "ac": {
            "auth_type": "v3applicationcredential",
            "auth": {
                "auth_url": "http://k/v3",
                "application_credential_id": "ac-id",
                "application_credential_secret": "ac-secret",
            },
        },
        "tok": {"auth_type": "v3token", "auth": {"auth_url": "http://k/v3", "token": "t0k"}},
        "none": {"auth_type": "none", "compute_endpoint_override": "http://nova:8774/v2.1/"},
    }
    layout.write(layout.cwd, "clouds.yaml", {"clouds": clouds})
    assert layout.load("pw").auth_type == "password"
    ac = layout.load("ac")
    assert (ac.auth_type, ac.application_credential_id) == ("application_credential", "ac-id")
    assert layout.load("tok").token == "t0k"
    none = layout.load("none")
    assert none.auth_type == "none"
    assert none.endpoint_override("compute") == "http://nova:8774/v2.1"


def test_secrets_are_not_in_repr(layout: Layout) -> None:
    entry = cloud(
        auth_type="password",
        auth={"application_credential_secret": "ac-secret", "token": "tok-123"},
    )
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    text = repr(layout.load("c"))
    for secret in (PASSWORD, "ac-secret", "tok-123"):
        assert secret not in text
    assert "admin" in text


# ---------------------------------------------------------------- errors: file, line, key


def test_an_alias_loop_is_refused_where_it_starts(layout: Layout) -> None:
    text = "clouds:\n  c: &me\n    auth_type: password\n    again: *me\n"
    path = layout.write(layout.cwd, "clouds.yaml", text)
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value) == f"{path}:2:6: this value holds an alias of itself (a loop)"


def test_aliases_that_multiply_without_end_are_refused(layout: Layout) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):  # 10**9 values once expanded
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("clouds:\n  c:\n    auth_type: none\n    laughs: *a8")
    path = layout.write(layout.cwd, "clouds.yaml", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value) == f"{path}: its aliases expand to over 100,000 values"


def test_nesting_too_deep_for_a_clouds_yaml_is_refused(layout: Layout) -> None:
    path = layout.write(layout.cwd, "clouds.yaml", "clouds: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value) == f"{path}: nested too deeply to be a clouds.yaml"


def test_shared_aliases_are_still_read(layout: Layout) -> None:
    text = (
        "base: &base\n  auth_type: none\n  compute_endpoint_override: http://n/v2.1\n"
        "clouds:\n  one: *base\n  two: *base\n"
    )
    layout.write(layout.cwd, "clouds.yaml", text)
    assert layout.load("two").compute_endpoint_override == "http://n/v2.1"


def test_yaml_syntax_error_names_file_line_column(layout: Layout) -> None:
    path = layout.write(layout.cwd, "clouds.yaml", "clouds:\n  c:\n    auth: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value).startswith(f"{path}:4:1: not valid YAML")


def test_bad_url_names_file_line_and_key(layout: Layout) -> None:
    text = "clouds:\n  c:\n    auth:\n      auth_url: keystone.example\n"
    path = layout.write(layout.cwd, "clouds.yaml", text)
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value) == (
        f"{path}:4:7: clouds.c.auth.auth_url: expected an http:// or https:// URL, "
        "got 'keystone.example'"
    )


def test_missing_password_names_the_cloud_entry(layout: Layout) -> None:
    entry = cloud()
    del entry["auth"]["password"]
    path = layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": entry}})
    with pytest.raises(ConfigError, match=rf"^{path}:2:3: cloud 'c': auth.password is missing"):
        layout.load("c")


def test_missing_environment_variable_is_named(layout: Layout) -> None:
    layout.environ.update({"OS_AUTH_URL": "http://k/v3", "OS_USERNAME": "u"})
    with pytest.raises(ConfigError, match="OS_PASSWORD is missing"):
        layout.load()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"auth_type": "v3oidc"}, "auth_type 'v3oidc' is not supported"),
        ({"interface": "private"}, "expected public, internal or admin, got 'private'"),
        ({"compute_endpoint_override": "http://[::1/v2.1"}, "expected an http:// or https://"),
        ({"auth": {"auth_url": "https://"}}, "expected an http:// or https:// URL"),
        ({"api_timeout": "soon"}, "expected a positive number of seconds"),
        ({"api_timeout": ".inf"}, "expected a positive number of seconds (a day at most)"),
        ({"api_timeout": 1e400}, "expected a positive number of seconds (a day at most)"),
        ({"in_flight_window": "-3"}, "clouds.c.in_flight_window: expected a positive number"),
        ({"in_flight_window": 1e9}, "expected a positive number of seconds (a day at most)"),
        ({"insecure": "maybe"}, "expected true or false, got 'maybe'"),
        ({"cacert": "/no/such/ca.pem"}, "no such file: /no/such/ca.pem"),
        ({"auth": {"user_domain_id": None}}, "auth.user_domain_name is missing"),
        ({"auth": {"project_domain_id": None}}, "auth.project_domain_name is missing"),
        ({"auth": {"username": ["a"]}}, "clouds.c.auth.username: expected text, got a list"),
        ({"region_name": ["a", "b"]}, "clouds.c.region_name: expected a region name (text)"),
    ],
)
def test_bad_settings(layout: Layout, changes: dict[str, Any], message: str) -> None:
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": cloud(**changes)}})
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert message in str(info.value)
    assert str(info.value).startswith(str(layout.cwd / "clouds.yaml") + ":")
    assert PASSWORD not in str(info.value)


def test_the_window_of_creates_in_flight_is_a_setting_of_its_own(layout: Layout) -> None:
    layout.write(
        layout.cwd, "clouds.yaml", {"clouds": {"c": cloud(api_timeout=30, in_flight_window=600)}}
    )
    config = layout.load("c")
    assert (config.api_timeout, config.in_flight_window) == (30.0, 600.0)
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": cloud(api_timeout=30)}})
    assert layout.load("c").in_flight_window is None  # the request timeout, then


def test_auth_none_needs_an_endpoint(layout: Layout) -> None:
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"c": {"auth_type": "none"}}})
    with pytest.raises(ConfigError, match="needs compute_endpoint_override"):
        layout.load("c")


def test_unknown_cloud_lists_the_known_ones(layout: Layout) -> None:
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"a": cloud(), "b": cloud()}})
    with pytest.raises(ConfigError, match=r"cloud 'x' is not defined \(clouds: a, b\)"):
        layout.load("x")
    with pytest.raises(ConfigError, match="several clouds"):
        layout.load()


def test_nothing_configured(layout: Layout) -> None:
    with pytest.raises(ConfigError, match="no cloud configured"):
        layout.load()
    with pytest.raises(ConfigError) as info:
        layout.load("prod")
    assert str(info.value) == (
        f"cloud 'prod' is not defined: no clouds.yaml found (looked in {layout.cwd}, "
        f"{layout.user_dir}, {layout.system})"
    )


def test_embedded_simulator_only_when_not_defined(layout: Layout) -> None:
    kwargs: dict[str, Any] = {
        "environ": layout.environ,
        "cwd": layout.cwd,
        "system_dirs": (layout.system,),
    }
    assert wants_embedded_simulator("simulator", **kwargs)
    assert not wants_embedded_simulator("other", **kwargs)
    assert not wants_embedded_simulator(None, **kwargs)
    layout.environ["OS_CLOUD"] = "simulator"
    assert wants_embedded_simulator(None, **kwargs)
    assert not wants_embedded_simulator("other", **kwargs)
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"simulator": cloud()}})
    assert not wants_embedded_simulator("simulator", **kwargs)


def test_config_from_mapping() -> None:
    config = config_from_mapping({"clouds": {"s": cloud()}}, "s", source="<sim>")
    assert (config.name, config.source, config.password) == ("s", "<sim>", PASSWORD)


def test_cloud_names_keep_their_dashes(layout: Layout) -> None:
    entry = cloud()
    entry["auth"]["user-domain-id"] = entry["auth"].pop("user_domain_id")
    path = layout.write(layout.cwd, "clouds.yaml", {"clouds": {"my-cloud": entry, "my_c": cloud()}})
    config = layout.load("my-cloud")
    assert (config.name, config.user_domain_id) == ("my-cloud", "default")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+:\d+: clouds.my-cloud.auth.auth_url"):
        entry["auth"]["auth_url"] = "nope"
        layout.write(layout.cwd, "clouds.yaml", {"clouds": {"my-cloud": entry}})
        layout.load("my-cloud")


# ---------------------------------------------------------------- each bad file: file, line, key


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        ('    auth: "x"\n', "3:5", "clouds.c.auth: expected a mapping of auth settings"),
        ("    auth: [1, 2]\n", "3:5", "clouds.c.auth: expected a mapping of auth settings"),
        (
            "    regions:\n      - name: R1\n        values: {auth: {auth_url: not a url}}\n",
            "5:25",
            "clouds.c.regions[0].values.auth.auth_url: expected an http:// or https:// URL",
        ),
        (
            "    regions:\n      - name: R1\n        values: {auth: 5}\n",
            "5:18",
            "clouds.c.regions[0].values.auth: expected a mapping of auth settings",
        ),
        (
            "    regions:\n      - R0\n      - {name: R1, values: [1]}\n",
            "5:20",
            "clouds.c.regions[1].values: expected a mapping of settings, got a list",
        ),
        ("    regions: {a: 1}\n", "3:5", "clouds.c.regions: expected a list of region names"),
        ("    regions:\n      - {values: {}}\n", "4:9", "clouds.c.regions[0]: expected the "),
    ],
)
def test_bad_file_names_the_file_line_and_key(
    layout: Layout, text: str, place: str, message: str
) -> None:
    path = layout.write(layout.cwd, "clouds.yaml", "clouds:\n  c:\n" + text)
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value).startswith(f"{path}:{place}: {message}"), str(info.value)


def test_a_bad_region_entry_names_the_key_and_never_echoes_its_values(layout: Layout) -> None:
    text = (
        "clouds:\n  c:\n    auth: {auth_url: 'http://k/v3', username: u, user_domain_name: D}\n"
        "    regions:\n      - name: R1\n        values:\n          auth: {password: TOPSECRETPW}\n"
        "        extra: 1\n"
    )
    path = layout.write(layout.cwd, "clouds.yaml", text)
    with pytest.raises(ConfigError) as info:
        layout.load("c")
    assert str(info.value) == (
        f"{path}:8:9: clouds.c.regions[0].extra: unknown key 'extra'; a region mapping "
        "has only 'name' and 'values'"
    )
    assert "TOPSECRETPW" not in str(info.value)


def test_region_values_apply_with_their_own_places(layout: Layout) -> None:
    text = (
        "clouds:\n  c:\n    auth: {auth_url: 'http://k/v3', username: u, user_domain_name: D,"
        " password: p}\n    regions:\n      - name: R1\n"
        "        values: {auth: {auth_url: 'http://r1/v3'}, interface: internal}\n"
    )
    layout.write(layout.cwd, "clouds.yaml", text)
    config = layout.load("c")
    assert (config.region_name, config.auth_url, config.interface) == (
        "R1",
        "http://r1/v3",
        "internal",
    )


def test_a_missing_os_client_config_file_is_named(layout: Layout) -> None:
    layout.environ.update({"OS_CLIENT_CONFIG_FILE": "/nonexistent.yaml", "OS_CLOUD": "x"})
    with pytest.raises(ConfigError, match="OS_CLIENT_CONFIG_FILE names /nonexistent.yaml, which"):
        layout.load()
    layout.write(layout.cwd, "clouds.yaml", {"clouds": {"a": cloud()}})
    with pytest.raises(ConfigError, match=r"\(clouds: a\); OS_CLIENT_CONFIG_FILE names /nonex"):
        layout.load()
