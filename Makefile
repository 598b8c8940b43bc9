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

EXAMPLES := $(BUILD_DIR)/examples
DEMO_PCAP := $(EXAMPLES)/demo.pcap

demo: build
	@echo
	@echo "== The main job: unmodified XDP programs, compiled for Linux, over a capture."
	@echo "   $(DEMO_PCAP) is synthetic traffic built by pollen-pcapgen (20000 packets:"
	@echo "   IPv4/IPv6, TCP/UDP/ICMP, VLANs, a few heavy sources, some from blocked prefixes)."
	@echo
	@echo "== pollen verify: the verifier proves the firewall safe before it runs"
	@$(POLLEN) verify $(EXAMPLES)/example_xdp_firewall.o
	@echo
	@echo "== the firewall: an LPM-trie blocklist filled from examples/data/firewall-blocklist.json;"
	@echo "   passed packets written to $(BUILD_DIR)/demo-firewall-out.pcap"
	@$(POLLEN) run $(EXAMPLES)/example_xdp_firewall.o --pcap $(DEMO_PCAP) \
	  --maps-in examples/data/firewall-blocklist.json --out $(BUILD_DIR)/demo-firewall-out.pcap
	@echo
	@echo "== the per-source rate limiter (500 packets per source per second)"
	@$(POLLEN) run $(EXAMPLES)/example_xdp_rate_limit.o --pcap $(DEMO_PCAP)
	@echo
	@echo "== the UDP/ICMP reflector (XDP_TX: MACs, addresses and ports swapped, checksums fixed),"
	@echo "   this time on the interpreter"
	@$(POLLEN) run $(EXAMPLES)/example_xdp_rewriter.o --pcap $(DEMO_PCAP) --engine interp
	@echo
	@echo "== the IPIP encapsulator (bpf_xdp_adjust_head), output in $(BUILD_DIR)/demo-ipip-out.pcap"
	@$(POLLEN) run $(EXAMPLES)/example_xdp_ipip.o --pcap $(DEMO_PCAP) \
	  --out $(BUILD_DIR)/demo-ipip-out.pcap
	@echo
	@echo "== the flow counter: per-flow packets and bytes aggregated where the packets are"
	@echo "   (add --dump-maps to see every flow, or --json for a script)"
	@$(POLLEN) run $(EXAMPLES)/example_xdp_flow_counter.o --pcap $(DEMO_PCAP)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j2

clean:
	rm -rf $(BUILD_DIR)
