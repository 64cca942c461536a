"""All-or-nothing output directories (files.atomic_outputs), which every step writes through."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.files import atomic_outputs


def test_outputs_appear_only_when_the_block_succeeds(tmp_path):
    first, second = tmp_path / "out" / "a", tmp_path / "out" / "b"
    with atomic_outputs(first, second) as (staged_first, staged_second):
        (staged_first / "data.txt").write_text("a")
        (staged_second / "data.txt").write_text("b")
        assert not first.exists()
        assert not second.exists()
    assert (first / "data.txt").read_text() == "a"
    assert (second / "data.txt").read_text() == "b"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a", "b"]


def write_then_fail(target: Path) -> None:
    with atomic_outputs(target) as (staged,):
        (staged / "half-written.txt").write_text("half")
        raise RuntimeError("disk full")


def test_a_failure_leaves_nothing_not_even_new_parents(tmp_path):
    with pytest.raises(RuntimeError):
        write_then_fail(tmp_path / "new" / "deeper" / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_keeps_the_previous_output(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        write_then_fail(target)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    assert [path.name for path in target.iterdir()] == ["old.txt"]


def test_a_directory_that_cannot_be_renamed_gets_its_contents_replaced(tmp_path, monkeypatch):
    # SageMaker's /opt/ml/model can be a mount point: renaming it fails with EBUSY.
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    (target / "old-dir").mkdir()
    rename = Path.rename

    def refuse_target(self, destination):
        if self == target:
            raise OSError(errno.EBUSY, "Device or resource busy")
        return rename(self, destination)

    monkeypatch.setattr(Path, "rename", refuse_target)
    with atomic_outputs(target) as (staged,):
        (staged / "model.joblib").write_text("new")
    assert [path.name for path in target.iterdir()] == ["model.joblib"]
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
