# The template's two everyday commands are `make demo` and `make test`;
# both create what they need under build/ on first use.
VENV ?= build/venv
PYTHON := $(VENV)/bin/python
DEMO_DIR := build/demo
DEMO_PROJECT := $(DEMO_DIR)/ancillary-propensity
NODE_DIR := build/node
GITLAB_CI_LOCAL := $(NODE_DIR)/node_modules/.bin/gitlab-ci-local
TEMPLATE_PYPROJECT := {{cookiecutter.project_slug}}/pyproject.toml
TEMPLATE_CONSTRAINTS := {{cookiecutter.project_slug}}/constraints.txt

.DEFAULT_GOAL := help
.PHONY: help venv tools demo test lint bench clean prerequisites-demo prerequisites-test

help: ## Show this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# One virtualenv holds the template's test tools and the generated project's
# dependencies (read from the rendered pyproject.toml), installed once. Both installs take the
# versions of the generated project's constraints.txt, as a generated project's installs do.
$(VENV)/.installed: requirements-dev.txt $(TEMPLATE_PYPROJECT) $(TEMPLATE_CONSTRAINTS) tools/project_requirements.py
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt -c '$(TEMPLATE_CONSTRAINTS)'
	$(PYTHON) tools/project_requirements.py > build/project-requirements.txt
	$(PYTHON) -m pip install --quiet -r build/project-requirements.txt -c '$(TEMPLATE_CONSTRAINTS)'
	touch $@

venv: $(VENV)/.installed ## Create build/venv (template tools + generated project dependencies)

$(GITLAB_CI_LOCAL):
	npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) gitlab-ci-local@4.73.0

tools: prerequisites-test $(GITLAB_CI_LOCAL) ## Install gitlab-ci-local (npm) into build/node (it also needs rsync)

# Checked first: a missing tool is named in one line before anything is installed.
prerequisites-demo prerequisites-test: prerequisites-%:
	@tools/prerequisites.sh $*

demo: prerequisites-demo venv ## Generate a project with default answers into build/demo and run its pipeline locally
	rm -rf $(DEMO_DIR)
	$(PYTHON) -m cookiecutter . --no-input --output-dir $(DEMO_DIR)
	$(MAKE) -C $(DEMO_PROJECT) run-local USE_TYPE=train PYTHON=$(abspath $(PYTHON))
	$(MAKE) -C $(DEMO_PROJECT) run-local USE_TYPE=predict PYTHON=$(abspath $(PYTHON))

# Tests run on every core (pytest-xdist); tests/worker_groups.py says which run together, and the
# order they start in (hence no reordering).
test: prerequisites-test venv tools ## Run the template's tests (renders every option combination)
	PATH="$(abspath $(NODE_DIR))/node_modules/.bin:$$PATH" $(PYTHON) -m pytest -n auto --dist loadscope --no-loadscope-reorder tests

lint: venv ## Lint the template's own Python code
	$(PYTHON) -m ruff check hooks tests tools bench
	$(PYTHON) -m ruff format --check hooks tests tools bench

bench: venv ## Measure render, local pipeline, scale, definition build, scoring and CI install costs
	$(PYTHON) bench/run.py

clean: ## Remove build/
	rm -rf build
