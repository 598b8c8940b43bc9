#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian (bookworm) package that Pollen's build, tests, benchmarks and fuzzers
# need. Idempotent: when dpkg already lists every package as installed, it stops there, without
# apt, root or network; otherwise it runs `apt-get update` and then installs the whole list (as
# root, or through sudo). `make demo` and `make test` run it first.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config  # compiler, build system
  clang llvm libclang-rt-14-dev                 # clang builds, libFuzzer, sanitizers
  libasmjit-dev                                 # the JIT's code emitter
  libelf-dev zlib1g-dev libbpf-dev bpftool      # ELF/BTF loading, kernel-differential tests
  libcli11-dev libfmt-dev nlohmann-json3-dev    # the CLI, formatting, JSON output
  libpcap-dev                                   # packet capture files for hooks
  libgtest-dev libgmock-dev libbenchmark-dev    # tests and benchmarks
  iproute2                                      # network namespaces for hook tests
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
echo "install-deps: done"
