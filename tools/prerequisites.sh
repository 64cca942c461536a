#!/usr/bin/env bash
# Check what `make demo` or `make test` needs before anything is installed or rendered.
# Prints one line per missing tool, with the Debian/Ubuntu package that provides it, and
# exits 1 if anything is missing. Usage: tools/prerequisites.sh demo|test
set -uo pipefail

# command -> package. demo: render and run the pipeline locally (Spark needs Java 17).
# test: also git (cruft, pre-commit), and gitlab-ci-local's npm and rsync.
declare -A DEMO=([python3]=python3 [java]=openjdk-17-jre-headless)
declare -A TEST=([git]=git [npm]=npm [rsync]=rsync)

case "${1:-}" in
    demo) ;;
    test) for command in "${!TEST[@]}"; do DEMO[$command]=${TEST[$command]}; done ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

missing=0
for command in $(printf '%s\n' "${!DEMO[@]}" | sort); do
    if ! command -v "$command" >/dev/null; then
        echo "$command is missing: install it (apt-get install ${DEMO[$command]})" >&2
        missing=1
    fi
done
# A generated project needs Python 3.11 or later (its pyproject.toml says so), and build/venv
# needs the venv module, which Debian ships apart.
if command -v python3 >/dev/null; then
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "python3 is $(python3 --version 2>&1 | cut -d' ' -f2): install Python 3.11 or later" >&2
        missing=1
    elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        echo "python3 has no venv module: install it (apt-get install python3-venv)" >&2
        missing=1
    fi
fi
exit "$missing"
