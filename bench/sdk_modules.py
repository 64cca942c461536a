"""List the SageMaker SDK modules a pipeline definition build loads (a benchmark helper).

    PYTHONPATH=<project>/src python bench/sdk_modules.py <project> <modules.json>

Runs ``create_pipeline.py --environment develop --dry-run`` inside this process, then
writes the names of the loaded ``sagemaker`` modules, in the order they were loaded, so
that the baseline can import exactly those and nothing else.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

SDK = "sagemaker"


def main() -> int:
    project, output = Path(sys.argv[1]), Path(sys.argv[2])
    script = project / "production" / "pipelines_code" / "create_pipeline.py"
    definition = output.with_name("definition-for-module-list.json")
    sys.argv = [str(script), "--environment", "develop", "--dry-run", "--output", str(definition)]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit_code:
        if exit_code.code:
            raise
    modules = [name for name in sys.modules if name.split(".")[0] == SDK]
    output.write_text(json.dumps(modules), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
