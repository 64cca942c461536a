"""The template under test, seen through cookiecutter's Python API.

Everything here works on the real template directory: the answers cookiecutter
derives from ``cookiecutter.json``, the two hooks loaded as plain modules, and a
render helper that runs the hooks exactly as ``cookiecutter`` on the command line does.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
HOOKS_DIR = TEMPLATE_DIR / "hooks"
COOKIECUTTER_JSON = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
# The questions a user answers: every key of cookiecutter.json except private ones (__prompts__).
ANSWER_FIELDS = tuple(key for key in COOKIECUTTER_JSON if not key.startswith("_"))


def load_hook(name: str) -> ModuleType:
    """Import hooks/<name>.py as a module; hooks only read their rendered answers in main()."""
    spec = importlib.util.spec_from_file_location(name, HOOKS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def answers(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every answer cookiecutter would use with --no-input, derived fields rendered."""
    context = generate_context(context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=overrides)
    rendered = prompt_for_config(context, no_input=True)
    return {field: rendered[field] for field in ANSWER_FIELDS}


def render(output_dir: Path, overrides: dict[str, str], config_file: Path) -> Path:
    """Generate a project with --no-input answers; hook failures raise FailedHookException."""
    project = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        extra_context=overrides,
        output_dir=str(output_dir),
        config_file=str(config_file),
    )
    return Path(project)


def render_from_replay(output_dir: Path, replay_file: Path, config_file: Path) -> Path:
    """Generate a project from a replay file such as a generated project's .cookiecutter.json.

    cookiecutter does not check replayed choices against cookiecutter.json: only the
    pre-generation hook stands between a hand-edited replay file and a broken project.
    """
    project = cookiecutter(
        str(TEMPLATE_DIR),
        replay=str(replay_file),
        output_dir=str(output_dir),
        config_file=str(config_file),
    )
    return Path(project)


def write_cookiecutter_config(directory: Path) -> Path:
    """A throw-away user config: ~/.cookiecutterrc cannot change defaults, replays stay out of $HOME."""
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "cookiecutter-config.yaml"
    config_file.write_text(
        f"cookiecutters_dir: {json.dumps(str(directory / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(directory / 'replay'))}\n"
    )
    return config_file
