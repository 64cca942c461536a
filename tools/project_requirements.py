"""Print every pinned dependency of a project generated with the default answers.

`make venv` installs this list, so the template's tests run generated projects
against exactly the pins the template ships.
"""

import tempfile
import tomllib
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE_DIR = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as output_dir:
        project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=output_dir))
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    groups = pyproject["project"]["optional-dependencies"]
    for requirement in sorted({pin for pins in groups.values() for pin in pins}):
        print(requirement)


if __name__ == "__main__":
    main()
