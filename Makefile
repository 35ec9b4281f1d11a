# tickwire: `make run` and `make test` are the two commands (see README.md).
# Each sets up whatever is missing first (scripts/setup.sh, idempotent).
BUILD      ?= build
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
RUN_ARGS   ?= --npcs 6 --log-format text

.PHONY: all setup build run test test-native test-asan bench fuzz clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/bin/tickwire-server $(RUN_ARGS)

test: build
	@$(MAKE) --no-print-directory test-native
	@$(MAKE) --no-print-directory test-asan

test-native:
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Unit and integration suites again under AddressSanitizer + UBSan.
test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTICKWIRE_SANITIZE=ON -DTICKWIRE_WASM=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -L 'unit|integration'

# The reference scenarios (see tests/bench/README.md); prints a table and
# appends to build/bench/results.jsonl. BENCH_RUNS=1 BENCH_WINDOW=5 is quick.
bench: build
	BENCH_BUILD=$(BUILD) tests/bench/run_bench.sh

# Each libFuzzer target for FUZZ_SECONDS on a working copy of its corpus.
FUZZ_SECONDS ?= 60
fuzz: build
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run_fuzz.sh $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)/bin $(BUILD)/CMakeFiles $(ASAN_BUILD)
