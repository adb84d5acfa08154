package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skmall/skmall/platform/daprtest"
)

// prometheus runs a Prometheus server (Debian's prometheus package) that scrapes every app's
// /metrics and every sidecar's metrics each second, with the chart's alert rules, and returns
// its HTTP API.
func (s *Shop) prometheus() string {
	s.t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		s.t.Fatal("the prometheus server is needed (apt-get install prometheus; make test installs it)")
	}
	dir := filepath.Join(s.dir, "prometheus")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		s.t.Fatal(err)
	}
	var scrape strings.Builder
	for _, name := range appNames {
		a := s.Apps[name]
		fmt.Fprintf(&scrape, `
  - job_name: %[1]s
    metrics_path: /metrics
    static_configs: [{targets: ["%[2]s"], labels: {service: %[1]s}}]
  - job_name: %[1]s-sidecar
    metrics_path: /
    static_configs: [{targets: ["127.0.0.1:%[3]d"], labels: {service: %[1]s}}]`,
			name, strings.TrimPrefix(a.URL, "http://"), a.metrics)
	}
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [%q]\nscrape_configs:%s\n",
		filepath.Join(s.root, "helm", "skmall", "files", "alerts.yaml"), scrape.String())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		s.t.Fatal(err)
	}
	port := freePort(s.t)
	p := start(s.t, "prometheus", s.dir, nil, bin, "--config.file", filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", "127.0.0.1:"+port)
	s.t.Cleanup(p.stop)
	api := "http://127.0.0.1:" + port
	waitHealthy(s.t, api+"/-/ready")
	return api
}

// promQuery runs an instant query and returns how many series it answered with.
func promQuery(t testing.TB, api, expr string) (int, error) {
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	if out.Status != "success" {
		return 0, fmt.Errorf("%s: %s", expr, out.Error)
	}
	return len(out.Data.Result), nil
}

// alertState is the state (pending, firing) of an alert, or "" when it is not active.
func alertState(api, name string) string {
	resp, err := http.Get(api + "/api/v1/alerts")
	if err != nil {
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	for _, a := range out.Data.Alerts {
		if a.Labels["alertname"] == name {
			return a.State
		}
	}
	return ""
}

// dashboardQueries are the PromQL expressions of every panel of the chart's Grafana dashboard.
func dashboardQueries(t testing.TB) []string {
	raw, err := os.ReadFile(filepath.Join(daprtest.RepoRoot(t), "helm", "skmall", "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}
	}
	return exprs
}

// TestDashboardsAndAlerts runs the scenario under a real Prometheus scraping the apps and the
// sidecars: afterwards every query of the Grafana dashboard returns data. Then the warehouse
// stops answering, and the circuit-breaker alert goes pending (or firing).
func TestDashboardsAndAlerts(t *testing.T) {
	t.Parallel()
	shop := StartShop(t, profiles()[0])
	api := shop.prometheus()
	l := newLedger()
	shop.RegisterProduct(l, "apple", 10)
	var placed []order
	for i := range 4 {
		o, r := shop.PlaceOrder(l, fmt.Sprintf("c%d", i), "apple", 2)
		if r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		placed = append(placed, o)
	}
	if _, r := shop.PlaceOrder(l, "c9", "apple", 50); r.Status != http.StatusConflict {
		t.Fatalf("ordering too many: %d", r.Status)
	}
	shop.WaitConverged(l, 60*time.Second)
	shop.CancelOrder(l, placed[0].OrderID)
	shop.WaitConverged(l, 60*time.Second)

	exprs := dashboardQueries(t)
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has only %d queries", len(exprs))
	}
	daprtest.Eventually(t, 60*time.Second, "every dashboard query to return data", func() error {
		var empty []string
		for _, e := range exprs {
			n, err := promQuery(t, api, e)
			if err != nil {
				return err
			}
			if n == 0 {
				empty = append(empty, e)
			}
		}
		if len(empty) > 0 {
			return fmt.Errorf("no data for %d queries: %s", len(empty), strings.Join(empty, " | "))
		}
		return nil
	})
	if s := alertState(api, "SkmallCircuitBreakerOpen"); s != "" {
		t.Fatalf("the circuit-breaker alert is %s while all is well", s)
	}

	// The warehouse stops answering: orders fail, the breaker opens, the alert follows.
	shop.Signal("warehouse", syscall.SIGSTOP)
	defer shop.Signal("warehouse", syscall.SIGCONT)
	for i := 0; !shop.breakerOpen(); i++ {
		if i == 8 {
			t.Fatal("the circuit breaker did not open")
		}
		shop.PlaceOrder(l, "bob", "apple", 1)
	}
	daprtest.Eventually(t, 30*time.Second, "the circuit-breaker alert", func() error {
		if s := alertState(api, "SkmallCircuitBreakerOpen"); s != "pending" && s != "firing" {
			return fmt.Errorf("alert state %q", s)
		}
		return nil
	})
}
