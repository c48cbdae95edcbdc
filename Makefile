# Makefile - a thin wrapper over CMake for the usual tasks.
#
#   make / make build   configure build/ (Release) and build everything
#   make test           every test: CTest in build/, unit tests under
#                       ASan+UBSan (build-asan/) and under valgrind
#   make demo           the scheduler and three workloads sharing one GPU
#   make bench          bench/run.sh, when there are benchmarks
#   make fuzz           the libFuzzer targets (clang, build-fuzz/), each for
#                       FUZZ_SECONDS (60): scripts/fuzz.sh
#   make soak           the 10-minute churn soak (tests/soak/soak.py), not in CI
#   make format         clang-format -i on the project's C sources
#   make format-check   fail if any C source is not formatted (CI)
#   make clean          remove build/ and build-asan/
#
# Every step says what it does, and any failing step fails the target.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BUILD := build
ASAN_BUILD := build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Folders holding the project's C sources.
SRC_DIRS := common lib scheduler ctl deviceplugin tools tests bench

.PHONY: all build test demo bench soak format format-check clean

all: build

build:
	@echo "==> checking build dependencies"
	@bash scripts/deps.sh build
	@echo "==> configuring $(BUILD)/ (Release)"
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	@echo "==> building in $(BUILD)/"
	cmake --build $(BUILD) -j$(JOBS)

test:
	@echo "==> checking test dependencies"
	@bash scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	@echo "==> running all tests (CTest, $(BUILD)/)"
	ctest --test-dir $(BUILD) --output-on-failure -j2
	@echo "==> configuring $(ASAN_BUILD)/ (AddressSanitizer + UBSan)"
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DNVSHARE_SANITIZE=ON
	@echo "==> building in $(ASAN_BUILD)/"
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	@echo "==> running unit tests under the sanitizers ($(ASAN_BUILD)/)"
	ctest --test-dir $(ASAN_BUILD) -L unit --output-on-failure
	@if ! command -v valgrind >/dev/null 2>&1; then \
		echo "==> valgrind is not installed: skipping the valgrind run"; \
	else \
		echo "==> running each unit test program of $(BUILD)/tests/ under valgrind"; \
		python3 scripts/valgrind-tests.py $(BUILD); \
	fi

soak:
	@$(MAKE) --no-print-directory build
	@echo "==> churn soak: 200 clients on 4 simulated GPUs, 10 minutes"
	python3 tests/soak/soak.py --build $(BUILD) $(SOAK_ARGS)

demo:
	@echo "==> checking demo dependencies"
	@bash scripts/deps.sh demo
	@$(MAKE) --no-print-directory build
	@echo "==> running the demo"
	NVSHARE_BUILD=$(BUILD) bash scripts/demo.sh

bench:
	@$(MAKE) --no-print-directory build
	@if [ -f bench/run.sh ]; then \
		echo "==> running bench/run.sh"; \
		bash bench/run.sh $(BUILD); \
	else \
		echo "==> no benchmarks yet (bench/run.sh does not exist)"; \
	fi

FUZZ_SECONDS ?= 60

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# The project's own C files only (build trees are not in SRC_DIRS).
FORMAT_FILES = $(shell find $(SRC_DIRS) -type f \( -name '*.c' -o -name '*.h' \) \
		 2>/dev/null | sort)

format:
	@bash scripts/deps.sh format
	@echo "==> clang-format -i on $(words $(FORMAT_FILES)) files"
	@clang-format -i $(FORMAT_FILES)

format-check:
	@bash scripts/deps.sh format
	@echo "==> checking the format of $(words $(FORMAT_FILES)) files"
	@bad=(); for f in $(FORMAT_FILES); do \
		clang-format --dry-run -Werror "$$f" >/dev/null 2>&1 || bad+=("$$f"); \
	done; \
	if [ $${#bad[@]} -gt 0 ]; then \
		echo "format: $${#bad[@]} files differ from .clang-format:"; \
		printf '  %s\n' "$${bad[@]}"; \
		echo "first differences:"; \
		clang-format --dry-run "$${bad[@]}" 2>&1 | head -n 40; \
		echo "run 'make format' to fix them"; \
		exit 1; \
	fi
	@echo "format: all files follow .clang-format"

clean:
	@echo "==> removing $(BUILD)/ and $(ASAN_BUILD)/"
	rm -rf $(BUILD) $(ASAN_BUILD)
