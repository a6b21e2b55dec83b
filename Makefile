# Rapport: `make run` starts everything, `make test` checks everything.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto')

.PHONY: run test lint proto proto-check bench venv clean

# Create .venv and install Rapport with its dev tools (re-runs when pyproject.toml changes).
venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Start broker, ingest, consumer (and every other service) on the embedded defaults; Ctrl-C stops all.
run: $(STAMP)
	$(BIN)/rapport up

# Lint, check generated stubs are fresh, then run the whole test suite (SQLite and PostgreSQL).
test: lint proto-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (lint + format check), mypy --strict over services/, import boundaries, dependency audit.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tools/check_imports.py
	$(BIN)/python tools/audit_deps.py

# Regenerate the committed gRPC/protobuf stubs from proto/.
proto: $(STAMP)
	PATH=$(BIN):$$PATH $(BIN)/python -m grpc_tools.protoc -Iproto --python_out=proto --grpc_python_out=proto \
		--mypy_out=proto --mypy_grpc_out=proto $(PROTOS)

# Fail when the committed stubs differ from what `make proto` would write.
proto-check: proto
	@git diff --exit-code --stat -- proto || \
		(echo "Generated stubs are stale: run 'make proto' and commit the result." && exit 1)

# Run the benchmarks in bench/ (JSON results in var/bench/, a table on stdout).
bench: $(STAMP)
	$(BIN)/python -m bench

# Remove the virtualenv and local data.
clean:
	rm -rf $(VENV) var/*.db var/*.db-* var/bench
