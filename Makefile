# SK MALL — an online shop's order back end on Dapr.
#   make run    the whole shop (PROFILE=local by default), in the foreground; Ctrl-C stops it
#   make test   every test: unit, contract and end-to-end on real sidecars, every profile
SHELL   := /bin/bash
APPS    := warehouse order delivery mypage
MODULES := contracts platform $(APPS) kafka helm images e2e
PROFILE ?= local
REDIS_PORT ?= 6390
# mypage's implementation, for make run and the end-to-end suite: go (the default) or ts, the
# TypeScript one in mypage-ts/ on Node.js 20.
MYPAGE ?= go
ifeq ($(filter $(MYPAGE),go ts),)
$(error MYPAGE=$(MYPAGE): want go (the default) or ts)
endif
export MYPAGE

.PHONY: run stop clean build tools deps token replay-deadletters manifests proto images test prebuild-cluster test-deps lint test-unit test-mypage-ts test-fuzz test-e2e test-cluster cluster cluster-down bench soak

run: deps tools build
	@PROFILE=$(PROFILE) bash scripts/run.sh

stop:
	@pkill -TERM -f '^bash scripts/run\.sh' 2>/dev/null && sleep 3 || true
	@root=$$(bash scripts/dapr-tools.sh) && DAPR_RUNTIME_PATH=$$root $$root/.dapr/bin/dapr stop -f dapr.yaml >/dev/null 2>&1 || true
	@pkill -f '^\.\./bin/(warehouse|order|delivery|mypage)$$' 2>/dev/null || true
	@pkill -f '^node $(CURDIR)/mypage-ts/dist/main\.js$$' 2>/dev/null || true
	@pkill -f '^[^ ]*daprd .*--sentry-address 127\.0\.0\.1:3590( |$$)' 2>/dev/null || true
	@pkill -f '^[^ ]*sentry --config components/sentry/' 2>/dev/null || true
	@pkill -f '^bin/kafka -port 19092 ' 2>/dev/null || true
	@pkill -f '^haproxy -db -f gateway/haproxy.cfg -p $(CURDIR)/.data/gateway.pid' 2>/dev/null || true
	@redis-cli -p $(REDIS_PORT) shutdown >/dev/null 2>&1 || true
	@echo "stopped"

clean: stop
	@[ ! -d .data/cluster ] || bash cluster/down.sh
	rm -rf .data bin $(addsuffix /.dapr,$(APPS))

deps:
	@bash scripts/deps.sh run $(PROFILE)

tools:
	@bash scripts/dapr-tools.sh >/dev/null

build:
	@mkdir -p bin
	@for app in $(APPS); do bash scripts/build-app.sh $$app bin/$$app || exit 1; done
# With MYPAGE=ts, the TypeScript mypage too: npm ci only when package-lock.json is newer than
# what it last installed.
ifeq ($(MYPAGE),ts)
	@cd mypage-ts && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci; } && npm run build
endif

# A token the local shop accepts: make token SUB=alice, or SUB=ops ROLE=admin. The signing key
# is made on first use in .data/auth (never committed).
token:
	@go run ./platform/cmd/token -keys .data/auth -sub "$(SUB)" $(if $(ROLE),-roles $(ROLE))

# k8s/: the chart rendered for users without Helm (no Secrets: they create their own).
manifests:
	@cd helm && $$(bash ../scripts/helm-tool.sh) template skmall skmall --namespace skmall \
	  --set secrets.generateApiTokens=false --set secrets.existingSecret=skmall-credentials > ../k8s/skmall.yaml
	@echo "k8s/skmall.yaml rendered"

# The gRPC contracts (contracts/proto): their Go code in contracts/grpc, made with buf and the
# pinned plugins (scripts/grpc-tools.sh). make lint checks both are current.
proto:
	@tools=$$(bash scripts/grpc-tools.sh) && cd contracts && PATH=$$tools:$$PATH buf generate
	@echo "contracts/grpc generated"

# The service images (mypage's in Go and in TypeScript) as tarballs in .images/, without Docker (TAG= and REPOSITORY= to
# override the chart's appVersion and image.repository).
images:
	go run ./images -out .images $(if $(TAG),-tag $(TAG)) $(if $(REPOSITORY),-repository $(REPOSITORY))

# After fixing what made events fail: make replay-deadletters SERVICE=delivery
replay-deadletters:
	@case "$(SERVICE)" in warehouse) port=8081;; order) port=8082;; delivery) port=8083;; mypage) port=8084;; \
	  *) echo "usage: make replay-deadletters SERVICE=warehouse|order|delivery|mypage"; exit 2;; esac; \
	token=$$(go run ./platform/cmd/token -keys .data/auth -sub ops -roles admin) && \
	curl -fsS -X POST -H "Authorization: Bearer $$token" localhost:$$port/deadletters/replay; echo

test: prebuild-cluster lint test-unit test-fuzz test-e2e test-cluster

# The cluster's programs take about half an hour to build the first time (then they are
# cached): make test starts that build at once, in the background at the lowest CPU priority,
# so that it uses what the other tests leave idle. make test-cluster takes what it built, or
# waits for it to finish (the build holds a lock); a make test that stops early stops it too.
# The log is .data/cluster-tools.log.
prebuild-cluster:
	@mkdir -p .data && { nice -n 19 setsid bash scripts/cluster-tools.sh --for $$PPID >.data/cluster-tools.log 2>&1 & }

test-deps:
	@bash scripts/deps.sh test
	@bash scripts/dapr-tools.sh >/dev/null
	@bash scripts/helm-tool.sh >/dev/null
	@bash scripts/grpc-tools.sh >/dev/null

# gofmt, then golangci-lint (go vet among its linters) on every module, with .golangci.yml;
# buf lint on the gRPC contracts, whose generated code must be what make proto writes.
lint:
	@tools=$$(bash scripts/grpc-tools.sh) && cd contracts && PATH=$$tools:$$PATH buf lint && \
	  out=$$(mktemp -d) && PATH=$$tools:$$PATH buf generate -o "$$out" && \
	  { diff -r "$$out/grpc" grpc || { rm -rf "$$out"; echo "contracts/grpc is not what the protos make: run make proto"; exit 1; }; } && rm -rf "$$out"
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@lint=$$(bash scripts/lint-tool.sh) && for m in $(MODULES); do (cd $$m && $$lint run --config ../.golangci.yml ./...) || exit 1; done

# Unit tests, the adapters' contract suites against a real daprd and real stores, and the
# Helm chart's (lint, strict rendering, CRD schemas, alert unit tests, k8s/ up to date).
test-unit: test-deps test-mypage-ts
	@for m in contracts platform $(APPS); do (cd $$m && go test -race -count=1 ./...) || exit 1; done
	@cd helm && go test -count=1 ./...
	@cd images && go test -count=1 ./...

# The TypeScript mypage's unit tests (node's test runner).
test-mypage-ts: test-deps
	@cd mypage-ts && npm ci && npm test

# A short run of each fuzz test (module:package:test) on top of its committed seeds: 60,000
# inputs each (2 to 15 seconds here). A run bounded by time can end, when the deadline falls while
# the fuzzer is between inputs, in "context deadline exceeded" reported as a failure; a run
# bounded by a count has no deadline. Longer: FUZZTIME=2000000x, or a time (FUZZTIME=10m).
FUZZ := contracts:.:FuzzDecode platform:./httpx:FuzzDecode platform:./eventsub:FuzzRoute \
	order:./internal/ports:FuzzPlaceOrder warehouse:./internal/ports:FuzzReserveStock \
	delivery:./internal/ports:FuzzOrderEvents
FUZZTIME ?= 60000x
# Minimizing a new input can outlast a short run; short runs do not minimize
# (FUZZMINIMIZE=60s for long ones).
FUZZMINIMIZE ?= 0
test-fuzz:
	@for f in $(FUZZ); do IFS=: read -r mod pkg fn <<<"$$f"; \
	  (cd $$mod && go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg) || exit 1; done

# The whole shop on real sidecars: the scenario, the invariants and the faults, on every profile;
# then the tests that exercise mypage once more, with the TypeScript mypage in place of the Go one,
# on the two stores mypage is kept in (SQLite, Redis).
MYPAGE_TESTS := TestScenario TestRedeliveryAndReordering TestFaultIsolation TestEveryDoorIsLocked TestOwnership \
	TestBadInput TestLongHistoriesComeInPages TestPoisonEventsAreDeadLettered TestRESTAndGRPCAnswerAlike TestDashboardsAndAlerts
# One space, to join the names with |.
space := $(subst ,, )
test-e2e: test-deps
	cd e2e && MYPAGE=go go test -count=1 -timeout 40m -v -skip '^TestCluster$$' ./...
	cd e2e && MYPAGE=ts SKMALL_E2E_PROFILES=local,postgres-redis go test -count=1 -timeout 40m -v -run '^($(subst $(space),|,$(MYPAGE_TESTS)))$$' ./...

# A single-node Kubernetes on this machine (cluster/): the Dapr control plane, an ingress
# controller, CoreDNS, metrics-server, the stores and the shop's images, all built here (needs
# root). Then: helm install skmall helm/skmall --namespace skmall --values cluster/values.yaml
# --set-file auth.jwks=.data/auth/jwks.json (the README says more).
cluster:
	@bash cluster/up.sh

# Removes every trace of the cluster, the firewall rule that kept its traffic here last.
cluster-down:
	@bash cluster/down.sh

# The chart on the local cluster: installed with Helm, then the scenario, self-healing,
# autoscaling, a rolling upgrade and pod deletions under load, through the ingress. The cluster
# is made for the run and removed after it, whatever the outcome.
test-cluster: test-deps
	@bash cluster/down.sh
	@bash cluster/up.sh && (cd e2e && go test -count=1 -timeout 30m -v -run '^TestCluster$$' .); \
	  status=$$?; bash cluster/down.sh; exit $$status

# The benchmark, on the postgres-redis profile with real sidecars: prints a Markdown table (-v:
# go test shows a passing package's output only then) and writes it (and JSON) to .bench/.
# make test runs a smoke version of it.
bench: test-deps
	cd e2e && SKMALL_BENCH=full go test -v -count=1 -run '^TestBench$$' -timeout 30m .

# The soak: two replicas of every service under mixed load with a fault every 15-25 s, then the
# full invariant audit (make test runs a 90 s version). SOAK=30m for longer.
SOAK ?= 10m
soak: test-deps
	cd e2e && SKMALL_SOAK=$(SOAK) go test -count=1 -run '^TestSoak$$' -timeout 90m -v .
