package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skmall/skmall/contracts"
	"github.com/skmall/skmall/platform/auth/devkeys"
	"github.com/skmall/skmall/platform/daprtest"
)

// The shop on a real Kubernetes cluster: the one make cluster starts on this machine (cluster/),
// with the Dapr control plane, Traefik as the ingress controller, CoreDNS and metrics-server.
// TestCluster installs the chart with Helm as the README tells users and reaches the shop
// through the ingress only. make test-cluster starts the cluster for it and removes it after.

// kube is the local cluster, as cluster/cluster.env and make cluster describe it.
type kube struct {
	t          *testing.T
	root       string
	env        map[string]string
	kubeconfig string
	tools      string // kubectl, crictl
	helm       string
	ingress    string // the ingress's address, http://node:port
}

const (
	clusterNamespace = "skmall"
	clusterRelease   = "skmall"
	clusterHost      = "shop.example.com" // the chart's ingress.host
)

func connectCluster(t *testing.T) *kube {
	t.Helper()
	root := daprtest.RepoRoot(t)
	k := &kube{t: t, root: root, env: map[string]string{}}
	raw, err := os.ReadFile(filepath.Join(root, "cluster", "cluster.env"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(name, "#") {
			k.env[name] = value
		}
	}
	k.kubeconfig = filepath.Join(root, ".data", "cluster", "pki", "admin.conf")
	if _, err := os.Stat(filepath.Join(root, ".data", "cluster", "run", "up")); err != nil {
		t.Fatalf("the local cluster is not up (make cluster): %v", err)
	}
	k.tools = k.script("cluster-tools.sh")
	k.helm = k.script("helm-tool.sh")
	k.ingress = "http://" + k.env["CLUSTER_NODE_IP"] + ":" + k.env["CLUSTER_INGRESS_PORT"]
	// Shop.As signs with make token's keys (.data/auth), whose key set the release trusts.
	if issuerKeys, err = devkeys.Ensure(filepath.Join(root, ".data", "auth")); err != nil {
		t.Fatal(err)
	}
	return k
}

// script runs one of scripts/ and returns what it prints.
func (k *kube) script(name string) string {
	out, err := exec.Command("bash", filepath.Join(k.root, "scripts", name)).Output() //nolint:gosec // the project's scripts
	if err != nil {
		k.t.Fatalf("%s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// run runs a command against the cluster and returns its output.
func (k *kube) run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // kubectl and helm with the test's arguments
	cmd.Dir = k.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

func (k *kube) kubectl(args ...string) string {
	k.t.Helper()
	out, err := k.run(filepath.Join(k.tools, "kubectl"), args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

// pods are the shop's pods of an app: name, phase, readiness and restarts of each container.
type kubePod struct {
	Metadata struct {
		Name              string     `json:"name"`
		DeletionTimestamp *time.Time `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Name string `json:"name"`
			Env  []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"env"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase             string          `json:"phase"`
		ContainerStatuses []kubeContainer `json:"containerStatuses"`
	} `json:"status"`
}

type kubeContainer struct {
	Name         string `json:"name"`
	Ready        bool   `json:"ready"`
	RestartCount int    `json:"restartCount"`
	ContainerID  string `json:"containerID"`
}

func (p kubePod) ready() bool {
	if p.Status.Phase != "Running" || p.Metadata.DeletionTimestamp != nil || len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, c := range p.Status.ContainerStatuses {
		if !c.Ready {
			return false
		}
	}
	return true
}

func (k *kube) pods(app string) []kubePod {
	k.t.Helper()
	var list struct{ Items []kubePod }
	out := k.kubectl("-n", clusterNamespace, "get", "pods", "-l", "app.kubernetes.io/name="+app, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		k.t.Fatalf("pods of %s: %v", app, err)
	}
	var pods []kubePod
	for _, p := range list.Items {
		if p.Metadata.DeletionTimestamp == nil { // not on its way out
			pods = append(pods, p)
		}
	}
	return pods
}

// waitRollout waits until every Deployment of the shop has all its pods ready.
func (k *kube) waitRollout(within time.Duration) {
	k.t.Helper()
	for _, app := range appNames {
		k.kubectl("-n", clusterNamespace, "rollout", "status", "deployment/"+app, "--timeout", within.String())
	}
}

// waitGone waits until the named pods are gone. Others may be on their way out meanwhile: the
// autoscalers remove pods they added under the load.
func (k *kube) waitGone(pods []string) {
	k.t.Helper()
	daprtest.Eventually(k.t, 3*time.Minute, "the replaced pods to be gone", func() error {
		out := k.kubectl("-n", clusterNamespace, "get", "pods", "-o", "jsonpath={.items[*].metadata.name}")
		var left []string
		for _, name := range strings.Fields(out) {
			if slices.Contains(pods, name) {
				left = append(left, name)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("still there: %v", left)
		}
		return nil
	})
}

// replicas is how many pods of an app are ready.
func (k *kube) replicas(app string) int {
	n := 0
	for _, p := range k.pods(app) {
		if p.ready() {
			n++
		}
	}
	return n
}

// install installs the chart with Helm exactly as the README tells users, and waits for it.
func (k *kube) install() {
	k.t.Helper()
	if _, err := k.run(k.helm, "uninstall", clusterRelease, "--namespace", clusterNamespace, "--wait"); err == nil {
		// A release left by an earlier run: its pods' addresses live on in DNS caches (CoreDNS
		// keeps answers 30 s, as kubeadm's configuration does) and would be dialled.
		k.t.Log("uninstalled the release an earlier run left; waiting out the DNS caches")
		time.Sleep(65 * time.Second)
	}
	k.emptyStores()
	if _, err := k.run(k.helm, "install", clusterRelease, "helm/skmall", "--namespace", clusterNamespace,
		"--values", "cluster/values.yaml", "--set-file", "auth.jwks=.data/auth/jwks.json", "--wait", "--timeout", "5m"); err != nil {
		k.dump()
		k.t.Fatal(err)
	}
	// A Deployment under an autoscaler starts with one pod; the autoscaler brings it to its
	// minimum.
	daprtest.Eventually(k.t, 3*time.Minute, "every app at its autoscaler's minimum of ready pods", func() error {
		for _, app := range appNames {
			if n := k.replicas(app); n < 2 {
				return fmt.Errorf("%s has %d ready pods", app, n)
			}
		}
		return nil
	})
}

// emptyStores gives the release empty stores: the cluster's PostgreSQL databases made anew
// and its Redis flushed (they outlive an uninstall).
func (k *kube) emptyStores() {
	k.t.Helper()
	socket := filepath.Join(k.root, ".data", "cluster", "postgres")
	for _, db := range []string{"skmall_order", "skmall_warehouse"} {
		for _, sql := range []string{"drop database if exists " + db + " with (force)", "create database " + db + " owner skmall"} {
			if _, err := k.run("psql", "-h", socket, "-p", k.env["CLUSTER_POSTGRES_PORT"], "-U", "postgres", "-qAtc", sql); err != nil {
				k.t.Fatal(err)
			}
		}
	}
	if _, err := k.run("redis-cli", "-h", k.env["CLUSTER_NODE_IP"], "-p", k.env["CLUSTER_REDIS_PORT"], "--no-auth-warning", "-a", k.env["CLUSTER_REDIS_PASSWORD"], "flushall"); err != nil {
		k.t.Fatal(err)
	}
}

// upgrade runs helm upgrade with the same values and more.
func (k *kube) upgrade(set ...string) {
	k.t.Helper()
	args := []string{"upgrade", clusterRelease, "helm/skmall", "--namespace", clusterNamespace,
		"--values", "cluster/values.yaml", "--set-file", "auth.jwks=.data/auth/jwks.json"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	// Within run's 10-minute deadline, so that a timeout is Helm's to report.
	if _, err := k.run(k.helm, append(args, "--wait", "--timeout", "9m")...); err != nil {
		k.dump()
		k.t.Fatal(err)
	}
}

// watchRollout logs, every interval until stopped, how far each Deployment's rollout is and
// what its autoscaler wants: a rollout that outlasts its timeout shows where the time went.
func (k *kube) watchRollout(every time.Duration) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(every):
			}
			deployments, _ := k.run(filepath.Join(k.tools, "kubectl"), "-n", clusterNamespace, "get", "deployments", "--no-headers",
				"-o", "custom-columns=NAME:.metadata.name,WANTED:.spec.replicas,UPDATED:.status.updatedReplicas,READY:.status.readyReplicas,ALL:.status.replicas")
			hpa, _ := k.run(filepath.Join(k.tools, "kubectl"), "-n", clusterNamespace, "get", "hpa", "--no-headers")
			k.t.Logf("rollout after %s (name, wanted, updated, ready, all pods):\n%s%s", time.Since(start).Round(time.Second), deployments, hpa)
		}
	}()
	return sync.OnceFunc(func() { close(done); <-stopped })
}

// dump logs the state of the cluster, for a failed test.
func (k *kube) dump() {
	for _, args := range [][]string{
		{"get", "pods", "-A", "-o", "wide"},
		{"-n", clusterNamespace, "get", "deployments,replicasets,hpa", "-o", "wide"},
		{"top", "pods", "-A", "--containers"},
		{"-n", clusterNamespace, "get", "events", "--sort-by", ".lastTimestamp"},
	} {
		out, _ := k.run(filepath.Join(k.tools, "kubectl"), args...)
		k.t.Log(out)
	}
}

// explainFailure logs what may explain a request that failed at the given time: the shop's
// pods, the addresses the sidecars resolve the warehouse to, and what order's apps and sidecars
// logged of trouble around then.
func (k *kube) explainFailure(t testing.TB, at time.Time) {
	var b strings.Builder
	kubectl := func(args ...string) string {
		out, err := k.run(filepath.Join(k.tools, "kubectl"), args...)
		if err != nil {
			return err.Error()
		}
		return out
	}
	fmt.Fprintf(&b, "a request sent at %s failed; the shop then:\n%s", at.Format("15:04:05.000"),
		kubectl("-n", clusterNamespace, "get", "pods", "-o", "wide"))
	b.WriteString(kubectl("-n", clusterNamespace, "get", "endpointslices", "-l", "kubernetes.io/service-name=warehouse-dapr", "-o",
		"jsonpath={range .items[*].endpoints[*]}{.addresses[0]} ready={.conditions.ready} terminating={.conditions.terminating}{\"\\n\"}{end}"))
	for _, pod := range strings.Fields(kubectl("-n", clusterNamespace, "get", "pods", "-l", "app.kubernetes.io/name=order", "-o", "jsonpath={.items[*].metadata.name}")) {
		for _, c := range []string{"order", "daprd"} {
			out := kubectl("-n", clusterNamespace, "logs", pod, "-c", c, "--since=30s")
			var trouble []string
			for _, line := range strings.Split(out, "\n") {
				if l := strings.ToLower(line); strings.Contains(l, "error") || strings.Contains(l, "warn") || strings.Contains(l, "fail") {
					trouble = append(trouble, line)
				}
			}
			n := len(trouble)
			if n > 6 { // the first and the last
				trouble = append(trouble[:3], trouble[n-3:]...)
			}
			fmt.Fprintf(&b, "%s/%s: %d lines of trouble in 30 s:\n%s\n", pod, c, n, strings.Join(trouble, "\n"))
		}
	}
	t.Log(b.String())
}

// shop is the Shop as its users reach it, for test t: every public path through the ingress.
func (k *kube) shop(t *testing.T) *Shop {
	apps := map[string]*App{}
	for _, name := range appNames {
		apps[name] = &App{Name: name, AppID: name, URL: k.ingress}
	}
	return &Shop{t: t, Profile: "kubernetes", Apps: apps, host: clusterHost, root: k.root}
}

// forward opens kubectl port-forward to a pod's port and returns the local address.
func (k *kube) forward(pod string, port int) string {
	k.t.Helper()
	for attempt := 1; ; attempt++ {
		local := daprtest.FreePort(k.t)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, filepath.Join(k.tools, "kubectl"), "-n", clusterNamespace, "port-forward", //nolint:gosec // the test's arguments
			"pod/"+pod, fmt.Sprintf("%d:%d", local, port))
		cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			cancel()
			k.t.Fatal(err)
		}
		addr := "http://127.0.0.1:" + strconv.Itoa(local)
		var err error
		for range 50 {
			var resp *http.Response
			if resp, err = http.Get(addr + "/"); err == nil { //nolint:noctx // a probe
				_ = resp.Body.Close()
				k.t.Cleanup(func() { cancel(); _ = cmd.Wait() })
				return addr
			}
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
		_ = cmd.Wait()
		if attempt == 3 {
			k.t.Fatalf("port-forward to %s:%d: %v\n%s", pod, port, err, out.String())
		}
	}
}

// secret reads one key of a Secret in the shop's namespace.
func (k *kube) secret(name, key string) string {
	k.t.Helper()
	out := k.kubectl("-n", clusterNamespace, "get", "secret", name, "-o", "go-template={{index .data \""+key+"\" | base64decode}}")
	return strings.TrimSpace(out)
}

func TestCluster(t *testing.T) {
	k := connectCluster(t)

	// Nothing of the cluster may leave the machine: the rule is in place while it runs.
	t.Run("FirewallKeepsTrafficHere", func(t *testing.T) {
		out, err := exec.Command("iptables", "-w", "-S", k.env["CLUSTER_FIREWALL_CHAIN"]).CombinedOutput()
		if err != nil {
			t.Fatalf("iptables: %v\n%s", err, out)
		}
		rules := string(out)
		for _, chain := range []string{"OUTPUT", "FORWARD"} {
			jump, err := exec.Command("iptables", "-w", "-C", chain, "-j", k.env["CLUSTER_FIREWALL_CHAIN"]).CombinedOutput()
			if err != nil {
				t.Errorf("%s does not jump to %s: %s", chain, k.env["CLUSTER_FIREWALL_CHAIN"], jump)
			}
		}
		outer, err := os.ReadFile(filepath.Join(k.root, ".data", "cluster", "run", "outer-interfaces"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ifc := range strings.Fields(string(outer)) {
			for _, r := range []string{k.env["CLUSTER_POD_CIDR"], k.env["CLUSTER_SERVICE_CIDR"]} {
				for _, dir := range []string{"-s", "-d"} {
					if want := fmt.Sprintf("%s %s -o %s -j DROP", dir, r, ifc); !strings.Contains(rules, want) {
						t.Errorf("no rule %q in\n%s", want, rules)
					}
				}
			}
		}
	})

	k.install()
	// The scenario's products, apart from the load tests' (each test has its own ledger).
	run := "k8s"

	// 1. Every pod Ready with its injected daprd, the sidecars' certificates from the
	// cluster's Sentry.
	t.Run("Installed", func(t *testing.T) {
		runtimeEnv := sidecarRuntimeOf(t, k.root)
		for _, app := range appNames {
			pods := k.pods(app)
			if len(pods) < 2 {
				t.Errorf("%s: %d pods, want the chart's 2", app, len(pods))
			}
			for _, p := range pods {
				var names []string
				for _, c := range p.Spec.Containers {
					names = append(names, c.Name)
					if c.Name != "daprd" {
						continue
					}
					// The sidecar runs with the shop's Go runtime settings (components/daprd.env).
					var env []string
					for _, e := range c.Env {
						env = append(env, e.Name+"="+e.Value)
					}
					for _, kv := range runtimeEnv {
						if !slices.Contains(env, kv) {
							t.Errorf("%s: its sidecar runs without %s", p.Metadata.Name, kv)
						}
					}
				}
				if !p.ready() || !strings.Contains(strings.Join(names, " "), "daprd") {
					t.Errorf("%s: ready %v, containers %v", p.Metadata.Name, p.ready(), names)
				}
			}
		}
		mtls := k.kubectl("get", "configurations.dapr.io", "daprsystem", "-n", "dapr-system", "-o", "jsonpath={.spec.mtls.enabled}")
		if mtls != "true" {
			t.Errorf("the cluster's Dapr configuration has mTLS %q", mtls)
		}
		sentry := strings.Fields(k.kubectl("-n", "dapr-system", "get", "pods", "-l", "app=dapr-sentry", "-o", "jsonpath={.items[*].metadata.name}"))
		if len(sentry) == 0 {
			t.Fatal("no Sentry pod")
		}
		metrics := k.kubectlRaw("dapr-system", sentry[0], 9090, "/metrics")
		if n := sumSamples(strings.NewReader(metrics), "dapr_sentry_cert_sign_success_total"); n < float64(2*len(appNames)) {
			t.Errorf("Sentry signed %v certificates, want at least one per sidecar (%d)", n, 2*len(appNames))
		}
	})

	// 2. The seed scenario end to end, through the ingress only, with tokens.
	t.Run("ScenarioThroughTheIngress", func(t *testing.T) {
		shop := k.shop(t)
		l := newLedger()
		apple, pear := "apple-"+run, "pear-"+run
		shop.RegisterProduct(l, apple, 10)
		shop.RegisterProduct(l, pear, 5)
		first, r := shop.PlaceOrder(l, "alice", apple, 3, "Idempotency-Key", "alice-1-"+run)
		if r.Status != http.StatusCreated || first.Status != "PLACED" {
			t.Fatalf("alice's order: %d %s", r.Status, r.Body)
		}
		if got := shop.Product(apple).Available; got != 7 {
			t.Fatalf("available after ordering 3 of 10: %d", got)
		}
		second, r := shop.PlaceOrder(l, "bob", pear, 2)
		if r.Status != http.StatusCreated {
			t.Fatalf("bob's order: %d %s", r.Status, r.Body)
		}
		daprtest.Eventually(t, 60*time.Second, "alice's delivery to start", func() error {
			var o order
			shop.Call(http.MethodGet, "order", "/orders/"+first.OrderID, nil).JSON(t, &o)
			if o.Status != "DELIVERY_STARTED" {
				return fmt.Errorf("order is %s", o.Status)
			}
			if p := shop.Product(apple); p.OnHand != 7 || p.Reserved != 0 {
				return fmt.Errorf("%s is %+v", apple, p)
			}
			return nil
		})
		if o := shop.CancelOrder(l, first.OrderID); o.Status != "CANCELLED" {
			t.Fatalf("cancelled order is %s", o.Status)
		}
		if r := shop.Call(http.MethodPost, "warehouse", "/products/"+apple+"/stock-adjustments", map[string]any{"delta": 5, "reason": "restock"}); r.Status != http.StatusOK {
			t.Fatalf("restocking: %d %s", r.Status, r.Body)
		}
		l.recordStock(apple, 5)
		shop.WaitConverged(l, 90*time.Second)
		if p := shop.Product(apple); p.OnHand != 15 {
			t.Fatalf("%s at the end: %+v, want 15 on hand (10 - 3 + 3 restocked + 5)", apple, p)
		}

		// Refusals come through the ingress as the apps make them: problem+json.
		for _, c := range []struct {
			name, method, app, path string
			body                    any
			headers                 []string
			status                  int
			problem                 string
		}{
			{"no token", http.MethodGet, "order", "/orders/" + second.OrderID, nil, []string{"Authorization", ""}, http.StatusUnauthorized, ""},
			{"another's order", http.MethodGet, "order", "/orders/" + second.OrderID, nil, shop.As("mallory"), http.StatusForbidden, ""},
			{"out of stock", http.MethodPost, "order", "/orders", map[string]any{"customerId": "alice", "productId": pear, "qty": 99}, shop.As("alice"), http.StatusConflict, "out-of-stock"},
			{"unknown product", http.MethodPost, "order", "/orders", map[string]any{"customerId": "alice", "productId": "durian", "qty": 1}, shop.As("alice"), http.StatusUnprocessableEntity, "unknown-product"},
			{"bad JSON", http.MethodPost, "order", "/orders", "{", shop.As("alice"), http.StatusBadRequest, ""},
		} {
			r := shop.Call(c.method, c.app, c.path, c.body, c.headers...)
			if r.Status != c.status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") || !contains(r.Body, c.problem) {
				t.Errorf("%s: %d %s %s, want %d problem+json %s", c.name, r.Status, r.Header.Get("Content-Type"), r.Body, c.status, c.problem)
			}
		}
		// What is not public is not routed: probes, metrics, event routes, the reservation API.
		for _, path := range []string{"/metrics", "/healthz", "/events/orders", "/reservations", "/internal/orders/x/settle"} {
			req, _ := http.NewRequest(http.MethodGet, k.ingress+path, nil)
			req.Host = clusterHost
			r, err := send(req)
			if err != nil || r.Status != http.StatusNotFound {
				t.Errorf("GET %s through the ingress: %d %v, want 404", path, r.Status, err)
			}
		}
	})

	// 7. Dapr's access control and pub/sub scopes in Kubernetes mode: a denied invocation and
	// a denied publish, asked of the sidecars of running pods.
	t.Run("AccessControlAndScopes", func(t *testing.T) {
		shop := k.shop(t)
		for _, app := range []string{"delivery", "mypage", "order"} {
			pod := k.pods(app)[0].Metadata.Name
			shop.Apps[app].DaprHTTP = k.forward(pod, 3500)
			shop.Apps[app].DaprToken = k.secret(fmt.Sprintf("%s-%s-dapr-api-token", clusterRelease, app), "token")
		}
		reserve := map[string]any{"orderId": "acl-probe", "productId": "apple-" + run, "qty": 5, "reservationId": "r1"}
		identity := "spiffe://public/ns/" + clusterNamespace + "/delivery"
		if r := shop.Invoke("delivery", "warehouse", http.MethodPost, "reservations", reserve); r.Status != http.StatusForbidden || !contains(r.Body, identity) {
			t.Errorf("delivery reserving stock: %d %s, want 403 naming %s", r.Status, r.Body, identity)
		}
		fresh := order{OrderID: "forged-" + run, CustomerID: "mallory", ProductID: "apple-" + run, Qty: 9}
		placed, _ := contracts.Encode(event(contracts.OrderPlaced, fresh))
		if status, body := shop.publishStatus("mypage", "orders", string(placed)); status != http.StatusForbidden {
			t.Errorf("mypage publishing to orders: %d %s, want 403", status, body)
		}
		// The owner still publishes, through the same sidecar API.
		if r := shop.Invoke("order", "warehouse", http.MethodPost, "reservations/never-placed/release", map[string]any{"reservationId": "r1"}); r.Status != http.StatusOK {
			t.Errorf("order releasing a reservation: %d %s", r.Status, r.Body)
		}
		if r := shop.Call(http.MethodGet, "delivery", "/deliveries/"+fresh.OrderID, nil); r.Status != http.StatusNotFound {
			t.Errorf("a forged OrderPlaced started a delivery: %d %s", r.Status, r.Body)
		}
	})

	// Each load test orders its own product with its own customers and audits its own ledger:
	// the audit after each reads what that test placed, not everything placed before it.
	loadLedger := func(shop *Shop, product string) *Ledger {
		l := newLedger()
		shop.RegisterProduct(l, product, 1_000_000)
		return l
	}

	// After pods stopped, the shop converges within the chart's republishAfter (30 s) and a
	// pass of order's republisher (7.5 s), plus the audit: an order pod deleted between
	// storing an order and publishing its event leaves the event unpublished, and order's
	// watch list publishes it again.
	const afterStops = 90 * time.Second

	// 3. Self-healing: an app that stops answering its liveness probe is restarted by the
	// kubelet; meanwhile customers keep ordering, and afterwards nothing is lost.
	t.Run("SelfHealing", func(t *testing.T) {
		shop := k.shop(t)
		product := "apple-healing"
		l := loadLedger(shop, product)
		stop := customersOrdering(t, shop, l, product, 4, "healing")
		pod := k.pods("order")[0]
		before := pod.Status.ContainerStatuses
		k.freeze(pod, "order")
		daprtest.Eventually(t, 3*time.Minute, "the kubelet to restart the frozen app", func() error {
			for _, p := range k.pods("order") {
				if p.Metadata.Name != pod.Metadata.Name {
					continue
				}
				for i, c := range p.Status.ContainerStatuses {
					if c.Name == "order" && c.RestartCount > restarts(before, "order") && p.ready() {
						t.Logf("%s restarted (%d restarts), ready again", p.Metadata.Name, p.Status.ContainerStatuses[i].RestartCount)
						return nil
					}
				}
				return fmt.Errorf("%s: %+v", p.Metadata.Name, p.Status.ContainerStatuses)
			}
			return fmt.Errorf("%s is gone", pod.Metadata.Name)
		})
		stop()
		shop.WaitConverged(l, 3*time.Minute)
	})

	// 4. Autoscaling: orders through the ingress make the order Deployment's autoscaler add
	// pods (metrics-server's CPU figures), and remove them once the load stops. While the new
	// pods start the two CPUs are saturated, and order may shed some of the load with 503
	// (reported, as the design has it for overload); nothing accepted is lost.
	t.Run("Autoscaling", func(t *testing.T) {
		shop := k.shop(t)
		daprtest.Eventually(t, 5*time.Minute, "order at its 2 pods before the load", func() error {
			if n := k.hpaReplicas("order"); n != 2 {
				return fmt.Errorf("order has %d replicas", n)
			}
			return nil
		})
		product := "apple-scale"
		l := loadLedger(shop, product)
		load := k.openLoad(shop, l, product, 20, "scale")
		start := time.Now()
		daprtest.Eventually(t, 5*time.Minute, "the order autoscaler to scale out", func() error {
			if n := k.hpaReplicas("order"); n <= 2 {
				return fmt.Errorf("order has %d replicas (%s)", n, k.kubectl("-n", clusterNamespace, "get", "hpa", "order", "--no-headers"))
			}
			return nil
		})
		t.Logf("scaled out to %d order pods %s after the load began", k.hpaReplicas("order"), time.Since(start).Round(time.Second))
		k.waitRollout(3 * time.Minute)
		res := load.stop()
		t.Logf("load: %s\n%s%s", res, res.Timeline(), k.kubectl("-n", clusterNamespace, "get", "hpa", "--no-headers"))
		stopped := time.Now()
		daprtest.Eventually(t, 5*time.Minute, "the order autoscaler to scale back in", func() error {
			if n := k.hpaReplicas("order"); n != 2 {
				return fmt.Errorf("order has %d replicas", n)
			}
			return nil
		})
		t.Logf("back to 2 order pods %s after the load stopped", time.Since(stopped).Round(time.Second))
		shop.WaitConverged(l, 3*time.Minute)
	})

	// 5. A rolling upgrade of every Deployment under open-loop load through the ingress: every
	// pod is replaced, not one request fails, and nothing accepted is lost. 5 orders a second
	// leave this two-core node room for the upgrade's own work (pods starting beside the old
	// ones). At 10 a second, on the slowest machine so far, order's pods used twice their CPU
	// requests, the autoscalers added pods during the upgrade until the node had no CPU left to
	// place them, and the upgrade outlasted 5 minutes; at 20 a second the CPUs are saturated
	// while pods start, stock checks outlast their 2 s timeout and order sheds load with 503, as
	// designed for overload (the README's "Rolling upgrades" has the figures).
	t.Run("UpgradeUnderLoad", func(t *testing.T) {
		shop := k.shop(t)
		// From the chart's two pods of each: what the autoscaling test added has gone.
		waited := time.Now()
		daprtest.Eventually(t, 5*time.Minute, "every Deployment at its 2 pods", func() error {
			for _, app := range appNames {
				if n := k.hpaReplicas(app); n != 2 {
					return fmt.Errorf("%s has %d replicas", app, n)
				}
			}
			return nil
		})
		t.Logf("every Deployment at its 2 pods after %s", time.Since(waited).Round(time.Second))
		before := map[string][]string{}
		for _, app := range appNames {
			for _, p := range k.pods(app) {
				before[app] = append(before[app], p.Metadata.Name)
			}
		}
		product := "apple-rollout"
		l := loadLedger(shop, product)
		load := k.openLoad(shop, l, product, 5, "rollout")
		time.Sleep(5 * time.Second)
		upgradeStart := time.Now()
		stopWatching := k.watchRollout(30 * time.Second)
		defer stopWatching()
		k.upgrade("config.logLevel=debug") // the configuration changes: every Deployment rolls
		t.Logf("helm upgrade took %s", time.Since(upgradeStart).Round(time.Second))
		k.waitRollout(10 * time.Minute)
		stopWatching()
		// The old pods' sidecars serve other sidecars for a minute after SIGTERM and close
		// their connections last: the load goes on until they are gone.
		k.waitGone(slices.Concat(slices.Collect(maps.Values(before))...))
		time.Sleep(5 * time.Second)
		res := load.stop()
		t.Logf("load during the upgrade: %s (%s from the upgrade to the last old pod gone; it began 5 s before the upgrade)\n%s",
			res, time.Since(upgradeStart).Round(time.Second), res.Timeline())
		for _, app := range appNames {
			for _, p := range k.pods(app) {
				for _, old := range before[app] {
					if p.Metadata.Name == old {
						t.Errorf("%s: pod %s was not replaced", app, old)
					}
				}
			}
		}
		if res.accepted == 0 {
			t.Fatalf("no order was accepted during the upgrade: %v", res.failures)
		}
		if res.failed > 0 {
			var at []string
			for _, f := range res.failedAt {
				at = append(at, f.Sub(upgradeStart).Round(100*time.Millisecond).String())
			}
			t.Errorf("%d of %d requests failed during the upgrade: %v, sent at %v after it began",
				res.failed, res.sent, res.failures, at)
		}
		shop.WaitConverged(l, afterStops)
	})

	// 6. Deleting a pod of each service while customers order: nothing lost.
	t.Run("PodDeletion", func(t *testing.T) {
		shop := k.shop(t)
		product := "apple-deletion"
		l := loadLedger(shop, product)
		stop := customersOrdering(t, shop, l, product, 4, "deletion")
		// One pod of each at once. Replaced means two pods ready again, not the rollout
		// finished: under this load the autoscaler may be adding pods, which on two cores take
		// minutes to start.
		deleted, gone := time.Now(), []string(nil)
		for _, app := range appNames {
			pod := k.pods(app)[0].Metadata.Name
			t.Logf("delete pod %s", pod)
			k.kubectl("-n", clusterNamespace, "delete", "pod", pod, "--wait=false")
			gone = append(gone, pod)
		}
		daprtest.Eventually(t, 3*time.Minute, "every app at two ready pods again", func() error {
			for _, app := range appNames {
				if n := k.replicas(app); n < 2 {
					return fmt.Errorf("%s has %d ready", app, n)
				}
			}
			return nil
		})
		t.Logf("every app at two ready pods %s after the deletions", time.Since(deleted).Round(time.Second))
		k.waitGone(gone)
		t.Logf("the deleted pods gone %s after the deletions", time.Since(deleted).Round(time.Second))
		stop()
		shop.WaitConverged(l, afterStops)
	})

	// 8. The chart's monitoring objects, accepted by the API server against the
	// prometheus-operator's CRDs (make cluster installs them; no Prometheus runs here).
	t.Run("MonitoringObjects", func(t *testing.T) {
		for _, kind := range []string{"prometheusrules.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"} {
			if out := k.kubectl("-n", clusterNamespace, "get", kind, "-o", "name"); strings.TrimSpace(out) == "" {
				t.Errorf("no %s in the release", kind)
			}
		}
		if out := k.kubectl("-n", clusterNamespace, "get", "configmaps", "-l", "grafana_dashboard=1", "-o", "name"); strings.TrimSpace(out) == "" {
			t.Error("no dashboard ConfigMap (grafana_dashboard=1)")
		}
	})
}

// restarts is a container's restart count in a pod's statuses.
func restarts(statuses []kubeContainer, name string) int {
	for _, c := range statuses {
		if c.Name == name {
			return c.RestartCount
		}
	}
	return -1
}

// freeze stops a container's process (SIGSTOP): it stays, but answers nothing, its liveness
// probe included.
func (k *kube) freeze(pod kubePod, container string) {
	k.t.Helper()
	for _, c := range pod.Status.ContainerStatuses {
		if c.Name != container {
			continue
		}
		id := strings.TrimPrefix(c.ContainerID, "containerd://")
		out, err := k.run(filepath.Join(k.tools, "crictl"), "--runtime-endpoint", "unix://"+filepath.Join(k.root, ".data", "cluster", "containerd", "containerd.sock"),
			"inspect", "-o", "go-template", "--template", "{{.info.pid}}", id)
		if err != nil {
			k.t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n") // crictl warns first of its missing config file
		pid, err := strconv.Atoi(lines[len(lines)-1])
		if err != nil {
			k.t.Fatalf("pid of %s/%s: %q", pod.Metadata.Name, container, out)
		}
		k.t.Logf("SIGSTOP %s/%s (pid %d)", pod.Metadata.Name, container, pid)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			k.t.Fatal(err)
		}
		return
	}
	k.t.Fatalf("%s has no container %s", pod.Metadata.Name, container)
}

// hpaReplicas is how many replicas an app's autoscaler keeps now.
func (k *kube) hpaReplicas(app string) int {
	k.t.Helper()
	n, _ := strconv.Atoi(strings.TrimSpace(k.kubectl("-n", clusterNamespace, "get", "hpa", app, "-o", "jsonpath={.status.currentReplicas}")))
	return n
}

// loadRun is orders of one product offered through the ingress at a fixed rate, open loop:
// each request leaves on schedule whatever the earlier ones do. Each has its own
// Idempotency-Key; what is accepted goes into the ledger, and what gets no definite answer is
// recorded as open for the audit to settle.
type loadRun struct {
	stopped chan struct{}
	done    chan loadResult
}

type loadResult struct {
	sent, accepted, failed int
	p50, p99               float64        // milliseconds
	failures               map[string]int // by status and problem
	failedAt               []time.Time
	// Every 10 s of the run: requests sent and failed, and how busy the machine's CPUs were.
	periods []loadPeriod
}

type loadPeriod struct {
	sent, failed int
	busy         float64 // share of the machine's CPU time, 0 to 1
	measured     bool    // busy is known (not for a last period cut short)
}

func (r loadResult) String() string {
	s := fmt.Sprintf("%d sent, %d accepted, %d failed, p50 %.0f ms, p99 %.0f ms", r.sent, r.accepted, r.failed, r.p50, r.p99)
	if r.failed > 0 {
		s += fmt.Sprintf(" (%v)", r.failures)
	}
	return s
}

// Timeline is the run 10 s at a time: what was sent, what failed, how busy the CPUs were.
func (r loadResult) Timeline() string {
	var b strings.Builder
	for i, p := range r.periods {
		busy := "   ?"
		if p.measured {
			busy = fmt.Sprintf("%3.0f%%", 100*p.busy)
		}
		fmt.Fprintf(&b, "%4ds: %4d sent %4d failed, CPU %s busy\n", i*10, p.sent, p.failed, busy)
	}
	return b.String()
}

// cpuTimes is the machine's CPU time so far, in clock ticks: all of it, and the idle part.
func cpuTimes() (total, idle uint64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	// user nice system idle iowait irq softirq steal (guest time is counted in user already)
	for i, f := range fields[1:min(len(fields), 9)] {
		n, _ := strconv.ParseUint(f, 10, 64)
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return total, idle
}

func (k *kube) openLoad(shop *Shop, l *Ledger, product string, rate int, prefix string) *loadRun {
	run := &loadRun{stopped: make(chan struct{}), done: make(chan loadResult, 1)}
	client := &http.Client{Timeout: 30 * time.Second}
	go func() {
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			res  = loadResult{failures: map[string]int{}}
			lats []time.Duration
		)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		began := time.Now()
		period := func(at time.Time) *loadPeriod { // under mu
			i := int(at.Sub(began) / (10 * time.Second))
			for len(res.periods) <= i {
				res.periods = append(res.periods, loadPeriod{})
			}
			return &res.periods[i]
		}
		sample := time.NewTicker(10 * time.Second)
		defer sample.Stop()
		total, idle := cpuTimes()
		for seq := 0; ; seq++ {
			select {
			case <-run.stopped:
				wg.Wait()
				q := quantiles(lats)
				res.p50, res.p99 = q(0.50), q(0.99)
				run.done <- res
				return
			case at := <-sample.C:
				t, i := cpuTimes()
				mu.Lock()
				if t > total {
					p := period(at.Add(-time.Second))
					p.busy, p.measured = 1-float64(i-idle)/float64(t-total), true
				}
				mu.Unlock()
				total, idle = t, i
				continue
			case <-tick.C:
			}
			customer, key := fmt.Sprintf("%s-%d", prefix, seq%8), fmt.Sprintf("%s-%d", prefix, seq)
			req, _, err := shop.newRequest(http.MethodPost, "order", "/orders",
				map[string]any{"customerId": customer, "productId": product, "qty": 1},
				append(shop.As(customer), "Idempotency-Key", key)...)
			if err != nil {
				shop.t.Error(err)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				resp, err := client.Do(req)
				var o order
				status, what := 0, ""
				if err == nil {
					status = resp.StatusCode
					var body []byte
					if body, err = io.ReadAll(resp.Body); err == nil && status == http.StatusCreated {
						err = json.Unmarshal(body, &o)
					}
					var problem struct{ Type string }
					if json.Unmarshal(body, &problem) == nil && problem.Type != "" {
						what = problem.Type[strings.LastIndex(problem.Type, "/")+1:]
					} else {
						what = strings.TrimSpace(string(body[:min(len(body), 40)]))
					}
					_ = resp.Body.Close()
				}
				mu.Lock()
				defer mu.Unlock()
				res.sent++
				period(start).sent++
				lats = append(lats, time.Since(start))
				if err == nil && status == http.StatusCreated {
					l.recordAccepted(o)
					res.accepted++
					return
				}
				res.failed++
				p := period(start)
				if p.failed++; p.failed == 1 {
					// The first failure of every 10 s is explained while it is fresh.
					wg.Add(1)
					go func() { defer wg.Done(); k.explainFailure(shop.t, start) }()
				}
				res.failures[fmt.Sprintf("%d %s %v", status, what, err)]++
				res.failedAt = append(res.failedAt, start)
				l.recordOpen(customer, key)
			}()
		}
	}()
	return run
}

// stop ends the load and waits for the requests in flight.
func (r *loadRun) stop() loadResult {
	close(r.stopped)
	return <-r.done
}

// kubectlRaw reads a path of a pod's port through the API server's pod proxy.
func (k *kube) kubectlRaw(ns, pod string, port int, path string) string {
	k.t.Helper()
	return k.kubectl("get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%d/proxy%s", ns, pod, port, path))
}
