# The two commands: `make demo` and `make test`. Both install what is missing.
SHELL := /bin/bash
export GOFLAGS := -buildvcs=false

.PHONY: all build demo test unit bench bench-rules fmt vet clean

all: build

build:
	scripts/ensure-go.sh
	go build -o bin/understudy ./cmd/understudy

## demo: start a throwaway PostgreSQL, build a "production" shop database, sync it with rules
demo:
	scripts/demo.sh

## test: unit and integration tests against a real PostgreSQL started here
test:
	scripts/test.sh

## unit: only the tests that need no server
unit:
	go test ./...

## bench: the end-to-end benchmark (ROWS=2000000 by default); writes benchmarks/RESULTS.md
bench:
	scripts/bench.sh

## bench-rules: every transformer's Go benchmark (ns and allocations per value)
bench-rules:
	scripts/ensure-go.sh
	go test ./transforms -run '^$$' -bench . -benchtime 300ms

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...

clean:
	rm -rf bin .cache
