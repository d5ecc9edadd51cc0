# Caisson — build, test and demo. Every target works on a fresh Debian 12 machine as root.
SHELL := /bin/bash
SWIFT ?= swift
DEB_PACKAGES := pkg-config libseccomp-dev libcap-dev libarchive-dev busybox-static \
	runc crun skopeo umoci tini jq iproute2 docker-registry apache2-utils openssl podman containerd libnftables-dev xfsprogs uidmap \
	containernetworking-plugins iptables slirp4netns
STAMP := .build/.deps-installed

.PHONY: all deps build test test-cgroup-v2 demo examples docs bench clean

all: build

# Idempotent: installs only what is missing, quietly.
deps: $(STAMP)
# Re-checked whenever this Makefile (and so the package list) changes.
$(STAMP): Makefile
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mkdir -p .build && touch $(STAMP)

build: deps
	$(SWIFT) build

# All tests, as root (the Sandbox tests run real containers).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

# The cgroup v2 controller tests on a real v2-only host: a qemu VM booting Debian's kernel
# with cgroup_no_v1=all, the host's / shared read-only over 9p, the built tests run inside
# (scripts/cgroup-v2-vm/run.sh). Not part of `test`: it needs qemu and takes minutes under TCG.
test-cgroup-v2: deps
	@dpkg-query -W -f='$${Status}\n' qemu-system-x86 2>/dev/null | grep -q '^install ok installed' || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
	$(SWIFT) build --build-tests
	bash scripts/cgroup-v2-vm/run.sh --scratch-path .build

# End to end: build the CLI, make a busybox bundle, run a container in it.
demo: deps
	$(SWIFT) build --product caisson
	$(SWIFT) build --product caisson-engine
	$(SWIFT) build --product hello
	@bash scripts/demo.sh "$$($(SWIFT) build --show-bin-path)/caisson"
	@echo "== the Swift API: Examples/Hello (an image built from busybox-static, run by Engine)"
	"$$($(SWIFT) build --show-bin-path)/hello"

# The programs under Examples/, built and run, each output checked (as root).
EXAMPLES := hello pull-and-run startup density sandbox-exec
examples: deps
	for example in $(EXAMPLES); do $(SWIFT) build --product $$example || exit 1; done
	@bash scripts/examples/run-all.sh "$$($(SWIFT) build --show-bin-path)"

# DocC for every product: every public symbol documented, catalogs build with warnings as errors.
docs: deps
	@bash scripts/docs.sh

bench: deps
	@bash Benchmarks/compare.sh

clean:
	rm -rf .build
