# Two commands for a fresh machine (Python 3.11+, Java 17, Maven): `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/msggate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/msggate

run: install  ## embedded Apache Kafka + topics + worker + demo; Ctrl-C stops everything
	$(BIN)/msggate dev --demo

test: install  ## the whole test suite, with a real Apache Kafka broker started by the tests
	$(BIN)/python -m pytest -q

.PHONY: install run test
