# Two commands do all set-up on a fresh machine with Python 3.11+, git and Node.js:
#   make example   render the template into example/ from the built-in Express example
#   make test      run the linters and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: example test lint clean

$(BIN)/copier: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

example: $(BIN)/copier
	rm -rf example
	cp -R examples/express-api example
	git -C example init --quiet --initial-branch=main
	$(BIN)/copier copy --trust --defaults . example
	@echo
	@echo "Generated into example/:"
	@cd example && find . -path ./.git -prune -o -type f -print | sort

lint: $(BIN)/copier
	$(BIN)/ruff check chitty_cicd extensions tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) example
