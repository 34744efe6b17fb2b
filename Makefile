# The two commands of the README: `make dev` and `make test`.
.PHONY: deps build dev test test-swift test-e2e

deps:
	./scripts/install-deps.sh

build:
	swift build

# Everything on one machine: the local API server with the CRDs, the controller (the MCP front end joins when it
# lands), and two example agents, echo (a command) and time (an MCP server): scripts/dev.sh.
dev: deps build
	./scripts/dev.sh

# With a deadline that names a hanging test instead of holding CI for hours: scripts/test-swift.sh.
test-swift: build
	./scripts/test-swift.sh

test-e2e: build
	python3 -m pytest Tests/e2e -q --timeout=600

# The fuzz suite alone; FUZZ_SCALE=3 sends three times as many generated requests.
test-fuzz: build
	python3 -m pytest Tests/e2e/test_fuzz.py -q

test: deps test-swift test-e2e
