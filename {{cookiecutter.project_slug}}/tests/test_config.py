"""Configuration errors name the file to fix and the key in it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import config


@pytest.fixture
def config_dir(tmp_path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(config.DEFAULT_CONFIG_DIR, directory)
    return directory


def edit(path: Path, change) -> None:
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(settings)
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")


def load_error(config_dir: Path) -> str:
    with pytest.raises(config.ConfigError) as error:
        config.load_config("develop", config_dir)
    return str(error.value)


def test_the_configurations_as_shipped_load(config_dir):
    for environment in config.ENVIRONMENTS:
        assert config.load_config(environment, config_dir).environment == environment


def test_a_key_missing_from_both_files_is_reported_against_the_environments_file(config_dir):
    edit(config_dir / "develop.yaml", lambda settings: settings.pop("role_arn"))
    assert load_error(config_dir) == (
        f"{config_dir / 'develop.yaml'}: role_arn: missing; set it there, or in base.yaml for every environment"
    )


def test_a_wrong_value_is_reported_against_the_file_that_holds_it(config_dir):
    edit(config_dir / "develop.yaml", lambda settings: settings["storage"].update(bucket=["not", "a", "name"]))
    assert load_error(config_dir).startswith(f"{config_dir / 'develop.yaml'}: storage.bucket: ")


def test_a_wrong_value_of_base_is_reported_against_base(config_dir):
    def wrong(settings):
        settings["evaluation"]["decision_threshold"] = "high"

    edit(config_dir / "base.yaml", wrong)
    assert load_error(config_dir).startswith(f"{config_dir / 'base.yaml'}: evaluation.decision_threshold: ")


def test_an_unknown_environment_names_the_known_ones(config_dir):
    with pytest.raises(config.ConfigError, match="unknown environment 'staging': choose one of develop, production"):
        config.load_config("staging", config_dir)
