# kubelet-doctor: the targets a newcomer expects. `make test` and `make demo`
# do all the set-up on a fresh Debian machine that has only Go.

GO        ?= go
BIN       := $(CURDIR)/bin
KD_BIN    := $(BIN)/kubelet-doctor
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME  ?= 10s
export CGO_ENABLED := 1

.PHONY: all deps build image dist tools npd kapi capi test unit e2e e2e-versions demo bench fuzz fuzz-brief lint fmt generate clean

all: build

deps: ## install the Debian packages the build and tests need (only when missing)
	@./scripts/deps.sh

build: deps ## build bin/kubelet-doctor
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(KD_BIN) ./cmd/kubelet-doctor

image: build ## the image (OCI layout + tarball) in bin/image, no container engine; prints its digest
	@./scripts/image.sh $(KD_BIN) $(VERSION) $(BIN)/image

dist: build npd ## the host-install tarball (NPD's shape) and its .sha512 in bin/dist
	@./scripts/dist.sh $(KD_BIN) "$$(./scripts/build-npd.sh)" $(VERSION) $(BIN)/dist

npd: deps ## build the real node-problem-detector v1.36.0 (cached by version)
	@./scripts/build-npd.sh >/dev/null

kapi: deps ## build the real kube-apiserver, etcd and kubectl v1.36.3 (cached by version)
	@./scripts/build-kapi.sh >/dev/null

capi: deps ## build the real Cluster API v1.14.2 core manager and take its CRDs (cached by version)
	@./scripts/build-capi.sh >/dev/null

tools: npd kapi capi

# The unit suites run under the race detector (measured on 2 loaded cores:
# 38 s against 35 s without, once the race build is cached).
UNIT_PKGS := ./internal/... ./plugins/... ./cmd/... ./config/...

# Every suite: unit tests (race detector), the fault matrix, the real-NPD
# end-to-end, the real-apiserver end-to-end, a brief fuzz of the parser,
# the classifier, the redactor and the escaper, and vet.
test: build tools lint
	$(GO) test -race -count=1 $(UNIT_PKGS)
	KD_BIN=$(KD_BIN) KD_NPD=$$(./scripts/build-npd.sh) KD_KAPI=$$(./scripts/build-kapi.sh) KD_CAPI=$$(./scripts/build-capi.sh) \
		$(GO) test -count=1 ./test/... ./docs/...
	$(MAKE) --no-print-directory fuzz-brief FUZZTIME=10s

unit: deps ## unit tests only (no end-to-end binaries), race detector on
	$(GO) test -race $(UNIT_PKGS)

e2e: build tools ## the end-to-end suites against the real NPD and API server
	KD_BIN=$(KD_BIN) KD_NPD=$$(./scripts/build-npd.sh) KD_KAPI=$$(./scripts/build-kapi.sh) KD_CAPI=$$(./scripts/build-capi.sh) \
		$(GO) test -count=1 -v ./test/e2e/...

# Older kubelets for e2e-versions (not part of `make test`): each is built once and cached.
KUBELET_VERSIONS ?= v1.35.4 v1.34.4

e2e-versions: build tools ## the real-kubelet suite for older kubelets too, recording their output into testdata
	@set -e; for v in $(KUBELET_VERSIONS); do \
		k=$$(./scripts/build-kubelet.sh $$v); \
		KD_BIN=$(KD_BIN) KD_NPD=$$(./scripts/build-npd.sh) KD_KAPI=$$(./scripts/build-kapi.sh) KD_KUBELET=$$k KD_RECORD=1 \
			$(GO) test -count=1 -v -timeout 30m -run TestRealKubelet ./test/e2e/kubelet; \
	done

demo: build npd ## run the real NPD with config/ on an embedded failing-then-recovering node
	@$(GO) run ./test/demo -bin $(KD_BIN) -npd "$$(./scripts/build-npd.sh)"

bench: build npd ## measure against the sd_journal floor, journalctl|grep and log-counter; writes BENCHMARKS.md
	@./scripts/bench.sh

fuzz-brief: ## a brief fuzz of every target (scripts/fuzz.sh retries a run the harness itself timed out)
	@./scripts/fuzz.sh FuzzParse ./internal/klog $(FUZZTIME)
	@./scripts/fuzz.sh FuzzClassify ./internal/rules $(FUZZTIME)
	@# Node input parsers; their seeds are whole config files, which the
	@# default minimizer would spend the whole fuzz time on.
	@./scripts/fuzz.sh FuzzDecode ./plugins/kubeletconfig $(FUZZTIME) -fuzzminimizetime=100x
	@./scripts/fuzz.sh FuzzRuntimeConfig ./plugins/kubeletconfig $(FUZZTIME) -fuzzminimizetime=100x
	@./scripts/fuzz.sh FuzzProc ./plugins/kubeletconfig $(FUZZTIME)
	@./scripts/fuzz.sh FuzzParseResolvConf ./plugins/dns $(FUZZTIME)
	@./scripts/fuzz.sh FuzzRedact ./internal/redact $(FUZZTIME)
	@./scripts/fuzz.sh FuzzString ./internal/printable $(FUZZTIME)
	@./scripts/fuzz.sh FuzzClean ./internal/sink $(FUZZTIME)
	@./scripts/fuzz.sh FuzzReadResponse ./internal/unixrpc $(FUZZTIME)
	@./scripts/fuzz.sh FuzzCountPods ./plugins/podresources $(FUZZTIME)

fuzz: ## fuzz the klog parser, the classifier, the redactor and the escaper for longer
	$(MAKE) --no-print-directory fuzz-brief FUZZTIME=$${FUZZTIME:-2m}

lint: deps ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

generate: ## regenerate docs/conditions.md, docs/kubelet-messages.md and config/ from the rule registry
	$(GO) generate ./internal/...
	$(GO) generate ./test/sweep/...  # docs/kubelet-messages.md from test/sweep/templates.tsv
	$(GO) generate ./config/...  # the ConfigMap embeds config/npd, generated above
	$(GO) generate ./cmd/...     # docs/cli.md from the commands' flags

clean:
	rm -rf $(BIN)
