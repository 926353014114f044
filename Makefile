# Two commands for a fresh machine (see README.md):
#   make demo   install into .venv if needed, make the demo data, run the workflow on it
#   make test   install into .venv if needed, run ruff and the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= 2

.PHONY: install demo test clean-demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	test -d resources/demo/input || $(BIN)/vfi demo resources/demo
	$(BIN)/snakemake --cores $(CORES) --resources gpu=1 --config data_dir=resources/demo

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest

clean-demo:
	rm -rf resources/demo eval_results report.html report.zip
	find results -mindepth 1 -not -name .gitkeep -delete
