# SPDX-License-Identifier: MIT
# Entry points: `make demo` and `make test` each install the Debian dependencies (a no-op when
# they are there), configure with CMake and Ninja into build/, build, and then run the demo or
# every test through CTest. The machines have 2 cores, hence -j2.
BUILD_DIR ?= build
JOBS ?= 2
POLLEN := $(BUILD_DIR)/tools/pollen/pollen

.PHONY: all deps configure build demo test clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@echo
	@echo "== examples/asm/fib.s: the 90th Fibonacci number, by a loop, in the interpreter"
	@$(POLLEN) exec examples/asm/fib.s --repeat 10000
	@echo
	@echo "== the same program with n = 10 in memory, and its bytecode"
	@$(POLLEN) exec examples/asm/fib.s --mem 0a
	@$(POLLEN) disasm examples/asm/fib.s
	@echo
	@echo "== examples/asm/checksum.s: the IPv4 header checksum of examples/data/ipv4-header.bin"
	@echo "   (the header carries 0xb861 on the wire)"
	@$(POLLEN) exec examples/asm/checksum.s --mem-file examples/data/ipv4-header.bin

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2

clean:
	rm -rf $(BUILD_DIR)
