"""{{ cookiecutter.project_name }}: code shared by every pipeline step.

Modules are imported explicitly (``from {{ cookiecutter.package_name }} import schema``);
this file imports nothing so that a step loads only what it uses.
"""

__version__ = "0.1.0"
