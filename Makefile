# hipaa-lsp: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench docs check-docs vsix clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Scan the bundled misconfigured examples and print the findings with their HIPAA citations.
# (The scanner exits 1 when it finds something, which is the point of the demo.)
demo: $(STAMP)
	@$(VENV)/bin/hipaa-lsp scan examples/; status=$$?; [ $$status -le 1 ] || exit $$status

test: $(STAMP)
	$(PY) -m pytest -n 2 tests

bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/worst_case.py

# Regenerate the documents that are generated from the rule data.
docs: $(STAMP)
	$(VENV)/bin/hipaa-lsp rules --format markdown --output docs/rules.md
	$(VENV)/bin/hipaa-lsp rules --format coverage --output docs/hipaa-coverage.md
	$(VENV)/bin/hipaa-lsp rules --format mapping --output rules/mappings/hipaa-security-rule.yaml

vsix:
	cd vscode-client && npm ci --no-audit --no-fund && npm run compile && npm test && npm run package

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
