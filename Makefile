# The two commands of the README: `make reproduce` and `make test`.
# Both create .venv on first use and install the project into it; later calls skip the
# install unless pyproject.toml changed (the stamp file tracks that).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= quick

.PHONY: reproduce test test-all bench lint clean-results install

reproduce: $(STAMP)
	$(BIN)/mtlib report --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check mtlib tests benchmarks

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@# tinysoundfont's metadata requires pyaudio (live playback only, unbuildable without
	@# PortAudio headers); the offline renderer needs nothing else.
	$(BIN)/python -m pip install --quiet --no-deps tinysoundfont==0.3.7
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	@touch $(STAMP)

clean-results:  # everything generated under results/; its README stays
	test ! -d results || find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
