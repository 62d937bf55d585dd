# Two commands for a fresh machine (Python 3.11+, Java 17, Maven): `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/msggate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,rocksdb]'
	touch $@

install: $(BIN)/msggate

run: install  ## embedded Apache Kafka + topics + worker + demo; Ctrl-C stops everything
	$(BIN)/msggate dev --demo

# The dashboard's browser test needs Debian's Chromium; installed when missing (apt, as root).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { echo "installing Debian's chromium for the browser test ..."; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	    { echo "make test: could not install chromium (needs apt and root); install it and run again" >&2; exit 1; }; }

test: install browser  ## the whole test suite, with a real Apache Kafka broker started by the tests
	$(BIN)/python -m pytest -q

.PHONY: install run test browser
