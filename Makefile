# Every target sets itself up: a .venv with rolecall (editable) and the test tools.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast shells bench lint typecheck test-all clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: start the local STS emulator and run an unmodified boto3 script as a role
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## test: lint, type-check and run the whole test suite (one process), with branch coverage of the
## library code run in the pytest process (not of the subprocesses tests start); the floor is
## fail_under in pyproject.toml
test: $(STAMP) shells lint typecheck
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

## test-fast: lint, type-check and the suite without the tests marked slow (no wheels, no venvs,
## nothing over ~1 s), on two workers (pytest-xdist: each has its own STS emulator); < 60 s
test-fast: $(STAMP) shells lint typecheck
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

## shells: zsh and fish for the completion tests; installed with apt-get when missing and root
## (as in CI); otherwise their tests are skipped, saying why
shells:
	@missing=""; for s in zsh fish; do command -v $$s >/dev/null 2>&1 || missing="$$missing $$s"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing for the shell completion tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; } \
		|| echo "warning: could not install$$missing; their completion tests will be skipped"; \
	else \
		echo "note:$$missing not installed (not root, or no apt-get); their completion tests will be skipped"; \
	fi

## bench: rolecall's cost and STS savings side by side with botocore (one Markdown table)
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench

lint: $(STAMP)
	$(BIN)/ruff check plugin tests examples

typecheck: $(STAMP)
	$(BIN)/mypy

## test-all: the suite on every Python 3.10-3.13 found on this machine (one venv each)
## (PYTEST_ARGS="-m 'not slow'" for the quick part only)
test-all:
	@for v in 3.10 3.11 3.12 3.13; do \
		py=""; \
		for c in python$$v $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python; do \
			if "$$c" -c pass >/dev/null 2>&1; then py=$$c; break; fi; \
		done; \
		if [ -n "$$py" ]; then \
			echo "== Python $$v ($$py)"; \
			$(MAKE) --no-print-directory test PYTHON=$$py VENV=.venv-$$v || exit 1; \
		else echo "== Python $$v not found, skipped"; fi; \
	done

clean:
	rm -rf $(VENV) .venv-* dist build .pytest_cache .mypy_cache .ruff_cache
