# Secure patient-portal messaging. `make dev` runs the product on localhost;
# `make test` runs every test. Both install what they need first.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
FUNCTIONS    := $(notdir $(wildcard functions/*))
BUILD_DIR    := .build/functions
TOOLS_DIR    := .tools
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The local S3 (package s3local): Versity's gateway, Apache-2.0, built from
# the Go module proxy at this exact version into .tools/bin.
VERSITYGW_VERSION := v1.8.0
VERSITYGW    := github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
REGION       ?= us-east-1

# CDK from Go: quiet, offline, and no telemetry.
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export AWS_REGION ?= $(REGION)
export CDK_DEFAULT_REGION ?= $(REGION)

.PHONY: help dev dev-reset test test-go lint build bench synth deploy tools tools-npm tools-s3 tools-browser clean token

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

## ---- local product ----

dev: tools-npm tools-s3 ## Run the whole product on localhost with demo data (Ctrl-C stops it).
	$(GO) run ./internal/cmd/dev

dev-reset: ## Wipe the local development data.
	rm -rf .dev
	@echo "Local data removed; the next 'make dev' seeds fresh demo data."

token: ## Print an access token for a demo user (make dev must be running): make token AS=parent.rivera
	@$(GO) run ./internal/cmd/devtoken $(AS)

## ---- tests ----

test: tools lint build synth test-go ## Run every test: lint, bootstrap sizes, unit, integration, end-to-end, infra, browser, and a CLI synth with cfn-lint.

test-go:
	@echo "==> go test ./... (DynamoDB Local, the gateway, CDK synth and Chromium start and stop inside the tests)"
	$(GO) test -count=1 -timeout 20m ./...

lint: ## gofmt, go vet, staticcheck and go mod tidy -diff.
	@echo "==> lint"
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# command floor's clients are behind build tags (see internal/cmd/sizecheck).
	$(GO) vet -tags floor.s3,floor.presign,floor.sesv2,floor.sms,floor.secretsmanager ./internal/cmd/sizecheck/floor
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

## ---- build and deploy ----

build: $(FUNCTIONS:%=$(BUILD_DIR)/%/bootstrap) ## Build every function as a stripped linux/arm64 bootstrap and check its size.
	@$(GO) run ./internal/cmd/sizecheck $(BUILD_DIR)

# One pattern rule for every function. Always rebuilt (FORCE): Go's cache
# makes that cheap and it never ships a stale binary.
# BUILD_TAGS: lambda.norpc drops aws-lambda-go's RPC mode, which
# provided.al2023 never uses; nethttpomithttp2 drops net/http's bundled
# HTTP/2 (0.31 MB): the AWS APIs the functions call and the Runtime API
# all speak HTTP/1.1, which is then all the client offers.
BUILD_TAGS   := lambda.norpc,nethttpomithttp2
FORCE:
$(BUILD_DIR)/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -tags $(BUILD_TAGS) -o $@ ./functions/$*

bench: tools tools-s3 ## Benchmarks: per operation latency of handler, HTTP and the direct call sequence, round trips, calls and capacity; throughput; list and queue scaling; cold starts; patient search on 10,000 patients; notification delay; upload-to-visible; Lighthouse scores of three screens.
	@echo "==> per operation: handler, local gateway over HTTP and the same DynamoDB calls issued directly, interleaved"
	$(GO) test -run '^$$' -bench 'Operations$$' -benchtime 100x -count 1 ./internal/bench/
	@echo "==> throughput at concurrency 1 and 8: handler, HTTP, direct"
	$(GO) test -run '^$$' -bench 'Throughput$$' -benchtime 16x -count 1 ./internal/bench/
	$(GO) test -run '^$$' -bench 'ListScaling|QueueScaling' -benchtime 200x -count 1 ./internal/bench/
	@echo "==> our code's time and allocations per operation, DynamoDB's answers replayed at no latency"
	$(GO) test -run '^$$' -bench 'OperationsCPU' -benchmem -benchtime 300x -count 1 ./internal/bench/
	@echo "==> the local gateway's own time and CPU per authorized request"
	$(GO) test -run '^$$' -bench 'Serve$$' -benchmem -benchtime 3000x -count 3 ./internal/localdev/gateway/
	$(GO) test -run '^$$' -bench ColdStart -benchtime 1x -count 1 ./internal/bench/
	$(GO) test -run '^$$' -bench PatientSearchScaling -benchtime 1x -count 1 ./internal/bench/
	$(GO) test -run '^$$' -bench NotificationDelay -benchtime 20x -count 1 ./internal/devstack/
	@echo "==> upload-to-visible for a 5 MB photo on the local stack (slot, POST to S3, scan, re-encode, next poll)"
	$(GO) test -run '^$$' -bench UploadToVisible -benchtime 20x -count 1 ./internal/devstack/
	@echo "==> Lighthouse (mobile) on the portal list, a portal conversation and the staff inbox"
	$(GO) run ./internal/cmd/lighthouse

synth: tools-npm build ## Synthesize the CloudFormation template offline into infra/cdk.out.
	cd infra && ../$(TOOLS_DIR)/node_modules/.bin/cdk synth --no-notices --quiet -o cdk.out
	@# W3005 (a DependsOn that a GetAtt already implies) is CDK's own output.
	@cd infra && if cfn-lint --version >/dev/null 2>&1; then \
	  echo "==> cfn-lint"; cfn-lint cdk.out/*.template.json --non-zero-exit-code error --ignore-checks W3005; \
	else echo "cfn-lint not installed: skipped"; fi
	@echo "Templates in infra/cdk.out/"

deploy: tools-npm build ## Deploy to the AWS account in your environment (see README, Deploying).
	cd infra && ../$(TOOLS_DIR)/node_modules/.bin/cdk deploy --no-notices $(CDK_ARGS)

## ---- tools ----

tools: tools-npm tools-s3 tools-browser ## Install everything the tests need.

tools-npm: $(TOOLS_DIR)/node_modules/.installed

$(TOOLS_DIR)/node_modules/.installed: $(TOOLS_DIR)/package.json $(TOOLS_DIR)/package-lock.json
	@echo "==> npm ci (DynamoDB Local, aws-cdk) in $(TOOLS_DIR)"
	cd $(TOOLS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

tools-s3: $(TOOLS_DIR)/bin/.versitygw-$(VERSITYGW_VERSION)

# A stamp named for the version, so changing the pin rebuilds it. A cold
# build takes about 1.5 minutes on two cores; the module cache keeps it.
$(TOOLS_DIR)/bin/.versitygw-$(VERSITYGW_VERSION):
	@echo "==> go install versitygw $(VERSITYGW_VERSION) (the local S3) into $(TOOLS_DIR)/bin"
	@mkdir -p $(TOOLS_DIR)/bin
	GOBIN=$(abspath $(TOOLS_DIR)/bin) CGO_ENABLED=0 $(GO) install -trimpath -ldflags "-s -w" $(VERSITYGW)
	@rm -f $(TOOLS_DIR)/bin/.versitygw-*
	@touch $@

tools-browser: ## Install Debian's chromium for the browser tests when missing.
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "==> installing Debian's chromium (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@command -v java >/dev/null || { echo "Java 17+ is required for DynamoDB Local"; exit 1; }

clean: ## Remove build output (keeps local data; see dev-reset).
	rm -rf .build infra/cdk.out .screenshots
