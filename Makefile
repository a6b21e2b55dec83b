# Rapport: `make run` starts everything, `make test` checks everything.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto')
LOCK := requirements/dev.lock
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
	--python-version 3.11

.PHONY: run test lint lock proto proto-check bench venv clean messages catalogs

# Create .venv and install exactly the locked, hash-checked dependencies, then Rapport itself
# (re-runs when pyproject.toml or the lock changes).
venv: $(STAMP)
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The translations (services/locale/<language>/LC_MESSAGES/rapport.po, written by people)
# compiled for gettext; the install builds them, nobody edits a .mo.
CATALOGS := $(wildcard services/locale/*/LC_MESSAGES/rapport.po)
catalogs: $(CATALOGS:.po=.mo)
%/LC_MESSAGES/rapport.mo: %/LC_MESSAGES/rapport.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@ -l $(notdir $*)

# Re-read every marked text of the code and templates into services/locale/rapport.pot and the
# catalogs (new texts arrive untranslated, `make lint` then names them).
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k n_:1,2 --no-location --sort-output \
		--project Rapport -o services/locale/rapport.pot services
	$(BIN)/pybabel -q update -i services/locale/rapport.pot -d services/locale -D rapport \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date

# Re-resolve requirements/*.lock from pyproject.toml (hashes for every platform): dev.lock for
# `make venv` and CI, one per image for deploy/Dockerfile, each pinned to dev.lock's versions.
lock: $(STAMP)
	$(UV_COMPILE) --extra all --extra dev -o $(LOCK)
	$(UV_COMPILE) -c $(LOCK) -o requirements/ingest.lock
	$(UV_COMPILE) -c $(LOCK) --extra moments -o requirements/moments.lock
	$(UV_COMPILE) -c $(LOCK) --extra reports -o requirements/reports.lock

# Start broker, ingest, consumer (and every other service) on the embedded defaults; Ctrl-C stops all.
run: $(STAMP) catalogs
	$(BIN)/rapport up

# Lint, check generated stubs are fresh, then run the whole test suite (SQLite and PostgreSQL)
# on TEST_WORKERS pytest-xdist workers, each with its own databases and broker.
TEST_WORKERS ?= 2
test: lint proto-check catalogs
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# ruff (lint + format check), mypy --strict over services/, import boundaries, module sizes (450
# lines at most), the catalogs, the lock agrees with pyproject.toml, dependency audit.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tools/check_imports.py
	$(BIN)/python tools/check_sizes.py
	$(BIN)/python tools/check_catalogs.py
	$(BIN)/python tools/check_lock.py
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
