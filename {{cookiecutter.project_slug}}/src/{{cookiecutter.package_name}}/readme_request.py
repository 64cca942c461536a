"""The README's request example, rewritten by ``make contract`` from a row of the user's file.

The README's example request (``make serve`` then ``curl``) must fit the data contract: the
generated suite sends it to the model server's input checks. A drafted contract describes
another table, so the draft replaces the block between REQUEST_EXAMPLE's two markers with a
row of that table, as the server expects it: the features by their safe names, in JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.contract import Contract
from {{ cookiecutter.package_name }}.files import write_text_atomically

START = "<!-- request example: make contract rewrites it from a row of your file -->"
END = "<!-- end of request example -->"
REQUEST_EXAMPLE = re.compile(re.escape(START) + r"\n.*?(?=" + re.escape(END) + ")", re.DOTALL)


def answer(of: Contract) -> str:
    label = of.label_column.name
    if of.task == "binary":
        return f"The answer is the probability that {label} is {of.label.positive_class!r}, and the predicted class."
    if of.task == "multiclass":
        return f"The answer is the probability of each class of {label}, and the most likely one."
    return f"The answer is the predicted {label}."


def markdown(of: Contract, features: dict[str, Any]) -> str:
    # Single quotes hold the body in the shell: the row chosen has none in its values.
    body = json.dumps(features, ensure_ascii=False)
    return "\n".join(
        [
            START,
            "```bash",
            "make serve",
            'curl -s -X POST http://127.0.0.1:8080/invocations -H "Content-Type: application/json" \\',
            f"    --data '{body}'",
            "```",
            "",
            answer(of),
            "",
        ]
    )


def refresh(readme: Path, of: Contract, features: dict[str, Any]) -> str:
    """Rewrite ``readme``'s example with ``features``; what was done, in one line."""
    if not readme.is_file():
        return f"{readme} not found: no request example to rewrite"
    text = readme.read_text(encoding="utf-8")
    if not REQUEST_EXAMPLE.search(text):
        return f"{readme} has no request example between {START} and {END}: left as it was"
    write_text_atomically(REQUEST_EXAMPLE.sub(lambda _: markdown(of, features), text, count=1), readme)
    return f"Rewrote the request example of {readme} from a row of the file"
