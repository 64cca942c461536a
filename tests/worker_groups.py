"""Which tests one pytest-xdist worker runs together, and which go first.

`make test` spreads the tests over every core. Tests that share an expensive module fixture go
to one worker as a group, so that the fixture is built once: gitlab-ci-local's real run (its
test job runs the default project's whole suite) and each own-data table's runs (one of them
then runs the most different single-table project's suite). pytest-xdist's
own `xdist_group` marks do nothing under pytest 9.2 (xdist renames node ids through an attribute
pytest 9 no longer reads), hence a list of node ids, held to the collected tests by
tests/test_template_repo.py.
"""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadScopeScheduling

from combinations import MOST_DIFFERENT

SINGLE_TABLE_TASK = next(c.values["task"] for c in MOST_DIFFERENT if c.values["starter"] == "single-table")

WORKER_GROUPS = {
    "tests/test_gitlab_ci.py::test_ci_test_job_runs_lint_the_whole_suite_and_both_definitions": "ci_run",
    "tests/test_gitlab_ci.py::test_ci_develop_deploy_job_assumes_the_deploy_role_and_creates_the_pipeline": "ci_run",
    # Its own table is the most different single-table project's: the one its suite runs on.
    "tests/test_generated_suite.py::"
    "test_the_most_different_single_table_project_passes_its_own_tests_unedited_on_an_own_table": "own_suite",
    **{
        f"tests/test_generated_suite.py::{test}[{task}]": "own_suite" if task == SINGLE_TABLE_TASK else f"own_{task}"
        for test in (
            "test_make_contract_drafts_the_contract_of_an_own_table",
            "test_an_own_table_trains_and_every_row_is_scored",
        )
        for task in ("binary", "multiclass", "regression")
    },
}
# The longest units first, so that no worker is left running one alone at the end; the rest,
# seconds each, in collection order.
HEAVIEST_FIRST = ("ci_run", "own_suite", "most_different", "own_binary", "own_multiclass", "own_regression")


class WorkerGroupScheduling(LoadScopeScheduling):
    """pytest-xdist's scope scheduling, with a scope per group above and one per other test."""

    def _split_scope(self, nodeid: str) -> str:
        return WORKER_GROUPS.get(nodeid, nodeid)


def weight(item: pytest.Item) -> int:
    unit = WORKER_GROUPS.get(item.nodeid)
    if unit is None and "::test_most_different_project_passes_its_own_tests[" in item.nodeid:
        unit = "most_different"
    return HEAVIEST_FIRST.index(unit) if unit in HEAVIEST_FIRST else len(HEAVIEST_FIRST)
