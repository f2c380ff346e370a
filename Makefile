# Köprü — two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export KOPRU_HOME ?= $(CURDIR)/.kopru
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
INBOX ?= $(KOPRU_HOME)/inbox
# The suite runs modules on this many workers side by side (pytest-xdist): the slow ones wait on Airflow and
# PostgreSQL much of the time, so two keep a 2-core machine busy.
TEST_WORKERS ?= 2

.PHONY: test-tools replay install demo demo-small demo-next bi test lint airflow airflow-stop lock clean warehouse-stop bench-ingest bench bench-10x

$(BIN)/kopru: requirements.in constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/pip install --quiet -r requirements.in -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(BIN)/kopru

install: $(BIN)/kopru

## The main job: embedded warehouse, sample feeds, the whole pipeline through Airflow, reports.
# A district of the plan card's size: 17,800 households aid about 15,000 families a year (PG4.1.1's target) and
# refer about 250 people to employment (PG4.1.4's), so the indicators read as a real district's would.
# The sample is delivered monthly (snapshots each half-year): the demo judges late or missing files by that cadence,
# not the contract's daily one.
DEMO_HOUSEHOLDS ?= 17800
DEMO_REFERRAL_RATE ?= 0.002
demo: install
	$(BIN)/kopru warehouse start
	$(BIN)/kopru generate --households $(DEMO_HOUSEHOLDS) --referral-rate $(DEMO_REFERRAL_RATE) \
		--start 2023-01-01 --end 2024-12-31 --seed 7 --out $(INBOX)
	PATH=$(CURDIR)/$(BIN):$$PATH KOPRU_DELIVERY_CADENCE=$(CURDIR)/plugins/kopru/data/delivery_cadence_sample.yml \
		$(BIN)/kopru run --inbox $(INBOX)

## The same in a minute: 400 households (the indicators then sit far below the plan's district-size targets).
demo-small: install
	$(MAKE) demo DEMO_HOUSEHOLDS=400 DEMO_REFERRAL_RATE=0.012

## The demo's next month: the same district and households deliver January 2025, and the pipeline takes it in
## (run after `make demo`; again for the month after).
demo-next: install
	$(BIN)/kopru warehouse start
	$(BIN)/kopru generate --continue --out $(INBOX)
	PATH=$(CURDIR)/$(BIN):$$PATH KOPRU_DELIVERY_CADENCE=$(CURDIR)/plugins/kopru/data/delivery_cadence_sample.yml \
		$(BIN)/kopru run --inbox $(INBOX)

## The whole test suite (real PostgreSQL, dbt, GX and Airflow; no mocks); the slowest tests are listed at the end,
## to keep the suite within its ~20 minutes.
test: install test-tools
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -q --durations=25 -n $(TEST_WORKERS) --dist loadfile

## Debian packages the tests run: Redis, the Celery broker of tests/test_scheduler.py, and poppler's pdftotext and
## pdftoppm, which read the reports' PDFs back (each installed once, when missing; needs apt, as root or with sudo).
test-tools:
	@missing=""; command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	[ -z "$$missing" ] || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; }

## A year of a small district's daily deliveries, day by day through the daily chain up to the next year's first
## reporting day (5 January: the closed year's reports), then compared with one bulk load of the same files (about
## 7 s a day on 2 cores, 45 minutes: run before a stop, not in `make test`).
replay: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/kopru replay

## Our load of the district-scale aid feed against psql \copy of the same file: rows/s and the ratio.
bench-ingest: install
	$(BIN)/kopru bench ingest

## Every stage at district scale (50k households, 2019-07..2026-06) through Airflow, then a one-day delivery.
bench: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/kopru bench pipeline

## Ten districts' worth (issue 20): 500,000 households spread over the sample district and the nine of its province
## nearest in population, the same stages; compare with a `make bench` of the same day (≈ 35–60 minutes, 59 GB of disk).
bench-10x: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/kopru bench pipeline --households 500000 --districts 10

## BI: Apache Superset on http://127.0.0.1:8088 with the "Köprü — H4.1" dashboard over the published marts (read-only
## BI login); installed once into $(KOPRU_HOME)/superset (its own venv). Run after `make demo`.
bi: install
	$(BIN)/kopru bi

lint: install
	$(BIN)/ruff check dags plugins tests

## The data team's view: Airflow 3 standalone on http://127.0.0.1:8080 with the project's DAGs (metadata in
## PostgreSQL, logs under $(KOPRU_HOME)/airflow/logs); Ctrl-C or `make airflow-stop` stops all of it.
airflow: install
	$(BIN)/kopru warehouse start
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m kopru.orchestration.standalone

airflow-stop:
	-$(BIN)/python -m kopru.orchestration.standalone stop

## Re-resolve the pinned set after editing requirements.in.
lock:
	rm -rf /tmp/kopru-lock && $(PYTHON) -m venv /tmp/kopru-lock
	/tmp/kopru-lock/bin/pip install --quiet -r requirements.in
	/tmp/kopru-lock/bin/pip freeze --exclude-editable > constraints.txt

warehouse-stop:
	-$(BIN)/kopru warehouse stop

clean: airflow-stop warehouse-stop
	rm -rf $(KOPRU_HOME)
