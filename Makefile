# A thin front end: every recipe calls cargo (and `test` starts PostgreSQL if it is down).

PLACELEDGER_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export PLACELEDGER_TEST_DATABASE_URL

.PHONY: test check fmt lint nextest postgres bench bench-forecast bench-api bench-national-files bench-national soak run schema national screenshots

PLACELEDGER_DATABASE_URL ?= sqlite:./data/placeledger.db
LISTEN ?= 127.0.0.1:8080

## Builds, creates ./data/placeledger.db with the seed history if it is missing, brings the
## projections up to date and serves the API on 127.0.0.1:8080 with development tokens.
run:
	cargo build --release --locked -p placeledger-cli
	./target/release/placeledger --database-url $(PLACELEDGER_DATABASE_URL) seed load
	./target/release/placeledger --database-url $(PLACELEDGER_DATABASE_URL) serve --listen $(LISTEN) --dev-tokens

## Every English authority from the published files, in a fresh ./data/national.db: England's
## geography (ONS), plans in force each January 2019-2025 and the January 2025 caseload by
## need, age and placement (DfE); then a forecast of every authority to data/national-forecast.csv.
NATIONAL_DATABASE_URL ?= sqlite:./data/national.db
national:
	cargo build --release --locked -p placeledger-cli
	rm -f data/national.db data/national.db-wal data/national.db-shm
	./target/release/placeledger --database-url $(NATIONAL_DATABASE_URL) geography import seeds/reference/ons/lad25_ctyua25_england.csv
	./target/release/placeledger --database-url $(NATIONAL_DATABASE_URL) import dfe-ehcp seeds/reference/national/ehcp_plans_in_force_all_las.csv
	./target/release/placeledger --database-url $(NATIONAL_DATABASE_URL) import dfe-ehcp seeds/reference/national/sen_needs_all_plans.csv
	./target/release/placeledger --database-url $(NATIONAL_DATABASE_URL) forecast run --format csv > data/national-forecast.csv
	@echo "data/national-forecast.csv: $$(wc -l < data/national-forecast.csv) rows"

## Runs the web app's browser tests (headless Chromium) and keeps their screenshots in
## docs/screenshots/ (README shows one).
screenshots:
	PLACELEDGER_SCREENSHOTS=docs cargo nextest run --locked -p placeledger-cli --test e2e -E 'test(/web::/)'

## Rewrites schema/graphql/schema.graphql from the code (a test fails when they differ).
schema:
	cargo run --locked -q -p placeledger-cli -- schema print > schema/graphql/schema.graphql

## Everything CI runs: formatting, lints, and every test on both backends.
test: postgres check nextest

check: fmt lint

fmt:
	cargo fmt --all --check

lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings

nextest:
	cargo nextest run --workspace --locked --profile ci

## Starts the local PostgreSQL cluster if it is not accepting connections.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -n 1) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not accepting connections on 127.0.0.1:5432" >&2; exit 1

## Store benchmark on both backends; rewrites BENCHMARKS.md. Takes several minutes.
bench: postgres
	cargo run --release --locked -p placeledger-bench --bin placeledger-bench -- --output BENCHMARKS.md

## Every English authority from the published files through the release binary, from an empty
## directory: times each step and writes the "national files" section of BENCHMARKS.md.
bench-national-files:
	cargo build --release --locked -p placeledger-cli -p placeledger-bench
	./target/release/placeledger-bench-national-files --output BENCHMARKS.md

## Every English authority's synthetic history on PostgreSQL (a fresh database
## placeledger_national, dropped first): load, projection rebuild, two API nodes, forecasts,
## 32-connection query load, 1,000 and 10,000 subscribers. Writes the "national" section of
## BENCHMARKS.md (SCALING.md's figures). About half an hour here.
bench-national: postgres
	cargo build --release --locked -p placeledger-cli -p placeledger-bench
	./target/release/placeledger-bench-national --output BENCHMARKS.md

bench-forecast:
	cargo run --release --locked -p placeledger-bench --bin placeledger-bench-forecast -- --output BENCHMARKS.md

## A 60-second soak of `placeledger serve`: queries, mutations, 1,000 subscribers; checks every
## update arrives in order and reports memory; rewrites its section of RELIABILITY.md.
soak:
	cargo build --release --locked -p placeledger-cli
	cargo run --release --locked -p placeledger-bench --bin placeledger-soak -- --output RELIABILITY.md

## The API under load (32 connections) and a 1,000-subscriber fan-out; rewrites its section.
bench-api:
	cargo run --release --locked -p placeledger-bench --bin placeledger-bench-api -- --output BENCHMARKS.md
