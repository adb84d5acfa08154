package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// The Dapr version whose CRD schemas the chart's Dapr objects must satisfy (the one make run
// and the tests run).
const daprModule = "github.com/dapr/dapr@v1.18.1"

// The pub/sub choices the chart renders; each is linted, rendered and checked.
var pubsubs = []string{"redis", "rabbitmq", "kafka"}

// k8sArgs renders the plain manifests in k8s/: no Secrets (users create them), namespace skmall.
var k8sArgs = []string{"template", "skmall", "skmall", "--namespace", "skmall",
	"--set", "secrets.generateApiTokens=false", "--set", "secrets.existingSecret=skmall-credentials"}

func helmBin(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("bash", "../scripts/helm-tool.sh").Output()
	if err != nil {
		t.Fatalf("helm: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func runHelm(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func TestChartLintsAndRendersStrictly(t *testing.T) {
	crds := daprCRDSchemas(t)
	for _, ps := range pubsubs {
		t.Run(ps, func(t *testing.T) {
			runHelm(t, "lint", "--strict", "skmall", "--set", "pubsub.type="+ps)
			out := runHelm(t, "template", "shop", "skmall", "--namespace", "shop", "--set", "pubsub.type="+ps)
			kinds := map[string]int{}
			for _, doc := range splitYAML(t, out) {
				kind := checkObject(t, doc, crds)
				kinds[kind]++
			}
			for kind, want := range map[string]int{
				"Deployment": 4, "Service": 4, "HorizontalPodAutoscaler": 4, "PodDisruptionBudget": 4, "Ingress": 1,
				"ConfigMap": 2, "Secret": 9, "Component": 5, "Configuration": 1, "Resiliency": 1, "Subscription": 10,
				"PodMonitor": 1, "PrometheusRule": 1, "NetworkPolicy": 4,
			} {
				if kinds[kind] != want {
					t.Errorf("%d %s objects, want %d (all: %v)", kinds[kind], kind, want, kinds)
				}
			}
		})
	}
}

// Values the schema forbids never render.
func TestValuesSchemaRefusesNonsense(t *testing.T) {
	for _, set := range []string{"pubsub.type=nats", "replicas=0", "typo=1", "auth.algorithms=HS256", "image.pullPolicy=Sometimes", "services.mypage.image=mypage-rs",
		"pubsub.type=kafka,pubsub.kafka.authType=oauth", "pubsub.type=kafka,pubsub.kafka.tls=true", "auth.jwks=not-a-key-set",
		"terminationGracePeriodSeconds=60"} {
		cmd := exec.Command(helmBin(t), "template", "shop", "skmall", "--set", set)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("--set %s rendered:\n%.300s", set, out)
		}
	}
}

// The plain manifests are exactly what the chart renders (make manifests writes them).
func TestPlainManifestsMatchTheChart(t *testing.T) {
	want := runHelm(t, k8sArgs...)
	got, err := os.ReadFile("../k8s/skmall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("k8s/skmall.yaml differs from the chart's output: run make manifests")
	}
	crds := daprCRDSchemas(t)
	for _, doc := range splitYAML(t, got) {
		if kind := checkObject(t, doc, crds); kind == "Secret" {
			t.Error("the plain manifests hold a Secret; credentials are the user's to create")
		}
	}
}

// The Deployments keep their promises: never below the desired replicas in a rollout, probes
// on the app's endpoints, a grace period longer than the drain, the sidecar annotations.
func TestDeploymentsRollOutSafely(t *testing.T) {
	out := runHelm(t, "template", "shop", "skmall", "--namespace", "shop")
	var config corev1.ConfigMap
	for _, doc := range splitYAML(t, out) {
		if kindOf(doc) != "ConfigMap" {
			continue
		}
		var cm corev1.ConfigMap
		strict(t, doc, &cm)
		if cm.Name == "shop-config" {
			config = cm
		}
	}
	for _, doc := range splitYAML(t, out) {
		var d appsv1.Deployment
		if kindOf(doc) != "Deployment" {
			continue
		}
		strict(t, doc, &d)
		ru := d.Spec.Strategy.RollingUpdate
		if ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() < 1 {
			t.Errorf("%s: rolling update %+v may drop below the desired replicas", d.Name, ru)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: probes %+v %+v", d.Name, c.ReadinessProbe, c.LivenessProbe)
		}
		if c.LivenessProbe != nil && (c.LivenessProbe.TerminationGracePeriodSeconds == nil || *c.LivenessProbe.TerminationGracePeriodSeconds > 30) {
			t.Errorf("%s: a hung app waits %v s for SIGKILL after its liveness fails", d.Name, c.LivenessProbe.TerminationGracePeriodSeconds)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: resources %+v", d.Name, c.Resources)
		}
		a := d.Spec.Template.Annotations
		checkStopTimeline(t, d, config)
		for _, k := range []string{"dapr.io/enabled", "dapr.io/app-id", "dapr.io/app-port", "dapr.io/config", "dapr.io/api-token-secret", "dapr.io/app-token-secret", "dapr.io/graceful-shutdown-seconds", "dapr.io/block-shutdown-duration", "dapr.io/enable-app-health-check"} {
			if a[k] == "" {
				t.Errorf("%s: no %s annotation", d.Name, k)
			}
		}
		if sc := d.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: may run as root", d.Name)
		}
		// Without a service account token (none is mounted) daprd's built-in Kubernetes
		// secret store cannot start, and daprd exits: the operator resolves the components'
		// secrets instead.
		if m := d.Spec.Template.Spec.AutomountServiceAccountToken; (m == nil || !*m) && a["dapr.io/disable-builtin-k8s-secret-store"] != "true" {
			t.Errorf("%s: no service account token, yet daprd's built-in Kubernetes secret store is on", d.Name)
		}
	}
}

// Every sidecar runs with the Go runtime's settings make run and the tests give daprd
// (components/daprd.env), and its soft memory limit lies below its container's limit.
func TestSidecarsRunWithTheShopsGoRuntime(t *testing.T) {
	raw, err := os.ReadFile("../components/daprd.env")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	deployments := 0
	for _, doc := range splitYAML(t, runHelm(t, "template", "shop", "skmall", "--namespace", "shop")) {
		var d appsv1.Deployment
		if kindOf(doc) != "Deployment" {
			continue
		}
		strict(t, doc, &d)
		a := d.Spec.Template.Annotations
		if a["dapr.io/enabled"] != "true" {
			continue
		}
		deployments++
		if got := a["dapr.io/env"]; got != strings.Join(want, ",") {
			t.Errorf("%s: the sidecar's environment is %q, want %q (components/daprd.env)", d.Name, got, strings.Join(want, ","))
		}
		for _, kv := range want {
			name, v, _ := strings.Cut(kv, "=")
			if name != "GOMEMLIMIT" {
				continue
			}
			soft := resource.MustParse(strings.TrimSuffix(v, "B"))
			if limit := resource.MustParse(a["dapr.io/sidecar-memory-limit"]); soft.Cmp(limit) >= 0 {
				t.Errorf("%s: the sidecar's GOMEMLIMIT %s is not below its memory limit %s", d.Name, v, a["dapr.io/sidecar-memory-limit"])
			}
		}
	}
	if deployments != 4 {
		t.Errorf("%d deployments with a sidecar, want 4", deployments)
	}
}

// How long other sidecars may go on calling a stopping pod's sidecar: CoreDNS answers from its
// cache for up to 30 s (kubeadm's Corefile), and daprd's gRPC DNS resolver resolves a name at
// most every 30 s.
const callersLearnNewPods = 61 * time.Second

// checkStopTimeline: a stopping pod's sidecar serves invocations until every caller has learned
// the new pods, then stops; its app serves until after that, and all of it ends before SIGKILL.
func checkStopTimeline(t *testing.T, d appsv1.Deployment, config corev1.ConfigMap) {
	t.Helper()
	a := d.Spec.Template.Annotations
	block, err := time.ParseDuration(a["dapr.io/block-shutdown-duration"])
	if err != nil || block < callersLearnNewPods {
		t.Errorf("%s: the sidecar serves %q after SIGTERM, callers may need %s to learn the new pods (%v)", d.Name, a["dapr.io/block-shutdown-duration"], callersLearnNewPods, err)
	}
	graceful, err := strconv.Atoi(a["dapr.io/graceful-shutdown-seconds"])
	if err != nil {
		t.Errorf("%s: graceful-shutdown-seconds %q", d.Name, a["dapr.io/graceful-shutdown-seconds"])
	}
	sidecarGone := block + time.Duration(graceful)*time.Second
	delay, err1 := time.ParseDuration(config.Data["SHUTDOWN_DELAY"])
	drain, err2 := time.ParseDuration(config.Data["SHUTDOWN_DRAIN"])
	if err := errors.Join(err1, err2); err != nil || delay+drain < sidecarGone {
		t.Errorf("%s: the app stops %s+%s after SIGTERM, before its sidecar may (%s): %v", d.Name, delay, drain, sidecarGone, err)
	}
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < max(sidecarGone, delay+drain) {
		t.Errorf("%s: termination grace %v s ends before the sidecar (%s) and the app (%s)", d.Name, g, sidecarGone, delay+drain)
	}
}

// A pinned key set (auth.jwks) is what every app checks tokens against, as a mounted file;
// without one the apps fetch jwksUrl.
func TestPinnedKeySetIsMounted(t *testing.T) {
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	const set = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"AA","y":"AA"}]}`
	if err := os.WriteFile(jwks, []byte(set), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, pinned := range []bool{true, false} {
		args := []string{"template", "shop", "skmall", "--namespace", "shop"}
		if pinned {
			args = append(args, "--set-file", "auth.jwks="+jwks)
		}
		deployments, keySets := 0, 0
		for _, doc := range splitYAML(t, runHelm(t, args...)) {
			switch kindOf(doc) {
			case "ConfigMap":
				var cm corev1.ConfigMap
				strict(t, doc, &cm)
				switch cm.Name {
				case "shop-config":
					want := "https://idp.example.com/.well-known/jwks.json"
					if pinned {
						want = "/etc/skmall/auth/jwks.json"
					}
					if got := cm.Data["AUTH_JWKS"]; got != want {
						t.Errorf("pinned %v: AUTH_JWKS %q, want %q", pinned, got, want)
					}
				case "shop-jwks":
					keySets++
					if cm.Data["jwks.json"] != set {
						t.Errorf("the key set ConfigMap holds %q", cm.Data["jwks.json"])
					}
				}
			case "Deployment":
				var d appsv1.Deployment
				strict(t, doc, &d)
				mounted := false
				for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
					mounted = mounted || (m.MountPath == "/etc/skmall/auth" && m.ReadOnly)
				}
				fromSet := false
				for _, v := range d.Spec.Template.Spec.Volumes {
					fromSet = fromSet || (v.ConfigMap != nil && v.ConfigMap.Name == "shop-jwks")
				}
				if mounted != pinned || fromSet != pinned {
					t.Errorf("pinned %v: %s mounts the key set %v, from its ConfigMap %v", pinned, d.Name, mounted, fromSet)
				}
				deployments++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[pinned]; keySets != want || deployments != 4 {
			t.Errorf("pinned %v: %d key set ConfigMaps, %d Deployments", pinned, keySets, deployments)
		}
	}
}

// Each app has its own pair of API tokens, so a token taken from one pod opens no other app's
// sidecar-only routes, and a NetworkPolicy lets only what must reach an app's port reach it.
func TestAppsAreFencedOffFromEachOther(t *testing.T) {
	out := runHelm(t, "template", "shop", "skmall", "--namespace", "shop")
	tokens := map[string]string{}   // Secret name -> token
	appToken := map[string]string{} // app -> the Secret its sidecar shows it
	policies := map[string]networkingv1.NetworkPolicy{}
	for _, doc := range splitYAML(t, out) {
		switch kindOf(doc) {
		case "Secret":
			var s corev1.Secret
			strict(t, doc, &s)
			if tok, ok := s.Data["token"]; ok {
				tokens[s.Name] = string(tok)
			}
		case "Deployment":
			var d appsv1.Deployment
			strict(t, doc, &d)
			appToken[d.Name] = d.Spec.Template.Annotations["dapr.io/app-token-secret"]
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "APP_API_TOKEN" && e.ValueFrom.SecretKeyRef.Name != appToken[d.Name] {
					t.Errorf("%s: the app checks %s, its sidecar shows %s", d.Name, e.ValueFrom.SecretKeyRef.Name, appToken[d.Name])
				}
			}
		case "NetworkPolicy":
			var p networkingv1.NetworkPolicy
			strict(t, doc, &p)
			policies[p.Name] = p
		}
	}
	seen := map[string]string{}
	for app, secret := range appToken {
		tok := tokens[secret]
		if tok == "" {
			t.Errorf("%s: its app token Secret %q is not rendered", app, secret)
		}
		if other, dup := seen[tok]; dup {
			t.Errorf("%s and %s share an app token: one's token opens the other's sidecar-only routes", app, other)
		}
		seen[tok] = app
	}
	if len(appToken) != 4 {
		t.Fatalf("app tokens of %d apps", len(appToken))
	}
	callers := map[string]string{"warehouse": "order", "order": "warehouse"}
	for app := range appToken {
		p, ok := policies[app]
		if !ok || len(p.Spec.PolicyTypes) != 1 || p.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
			t.Errorf("%s: no ingress NetworkPolicy", app)
			continue
		}
		for _, rule := range p.Spec.Ingress {
			if len(rule.From) == 0 {
				t.Errorf("%s: a rule lets anyone in: %+v", app, rule)
			}
			for _, port := range rule.Ports {
				if port.Port.IntValue() != 50002 {
					continue
				}
				if len(rule.From) != 1 || rule.From[0].PodSelector == nil || rule.From[0].PodSelector.MatchLabels["app.kubernetes.io/name"] != callers[app] {
					t.Errorf("%s: the sidecars' port is open to %+v, want only %q", app, rule.From, callers[app])
				}
			}
		}
	}
}

func splitYAML(t testing.TB, raw []byte) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, part := range bytes.Split(raw, []byte("\n---")) {
		part = bytes.TrimSpace(part)
		lines := 0
		for _, l := range bytes.Split(part, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 && l[0] != '#' {
				lines++
			}
		}
		if lines > 0 {
			docs = append(docs, part)
		}
	}
	return docs
}

func kindOf(doc []byte) string {
	var meta struct{ Kind string }
	_ = yaml.Unmarshal(doc, &meta)
	return meta.Kind
}

// strict decodes a YAML object into its Go type, refusing fields the type does not have.
func strict(t testing.TB, doc []byte, into any) {
	t.Helper()
	raw, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Errorf("%s: %v\n%s", kindOf(doc), err, doc)
	}
}

// checkObject decodes one rendered object strictly into its Kubernetes API type, or validates
// a Dapr object against the CRD schema of the pinned Dapr, and returns its kind.
func checkObject(t testing.TB, doc []byte, crds map[string]*jsonschema.Schema) string {
	t.Helper()
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	typed := map[string]any{
		"apps/v1/Deployment": &appsv1.Deployment{}, "v1/Service": &corev1.Service{}, "v1/ConfigMap": &corev1.ConfigMap{},
		"v1/Secret": &corev1.Secret{}, "autoscaling/v2/HorizontalPodAutoscaler": &autoscalingv2.HorizontalPodAutoscaler{},
		"policy/v1/PodDisruptionBudget": &policyv1.PodDisruptionBudget{}, "networking.k8s.io/v1/Ingress": &networkingv1.Ingress{},
		"monitoring.coreos.com/v1/PodMonitor": &monitoringv1.PodMonitor{}, "monitoring.coreos.com/v1/PrometheusRule": &monitoringv1.PrometheusRule{},
		"networking.k8s.io/v1/NetworkPolicy": &networkingv1.NetworkPolicy{},
	}
	key := meta.APIVersion + "/" + meta.Kind
	if into, ok := typed[key]; ok {
		strict(t, doc, into)
		return meta.Kind
	}
	schema, ok := crds[key]
	if !ok {
		t.Errorf("%s: no Kubernetes type or Dapr CRD to check it against", key)
		return meta.Kind
	}
	raw, _ := yaml.YAMLToJSON(doc)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(v); err != nil {
		t.Errorf("%s breaks the Dapr CRD schema: %v\n%s", key, err, doc)
	}
	return meta.Kind
}

// daprCRDSchemas compiles, per apiVersion/kind, the OpenAPI schemas of the CRDs shipped in the
// pinned Dapr module, closed against unknown fields where the CRD lists the fields.
func daprCRDSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", daprModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", daprModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %s", daprModule, out)
	}
	files, _ := filepath.Glob(filepath.Join(mod.Dir, "charts", "dapr", "crds", "*.yaml"))
	schemas := map[string]*jsonschema.Schema{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitYAML(t, raw) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.Unmarshal(doc, &crd); err != nil || crd.Spec.Group != "dapr.io" {
				continue
			}
			for _, v := range crd.Spec.Versions {
				if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
					continue
				}
				js, _ := json.Marshal(v.Schema.OpenAPIV3Schema)
				var node any
				_ = json.Unmarshal(js, &node)
				closeObjects(node)
				c := jsonschema.NewCompiler()
				name := fmt.Sprintf("%s/%s/%s.json", crd.Spec.Group, v.Name, crd.Spec.Names.Kind)
				if err := c.AddResource(name, node); err != nil {
					t.Fatal(err)
				}
				s, err := c.Compile(name)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				schemas[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = s
			}
		}
	}
	if len(schemas) == 0 {
		t.Fatal(errors.New("no Dapr CRD schemas found in " + mod.Dir))
	}
	return schemas
}

// closeObjects makes every object schema that lists its properties refuse others, as a
// structural CRD's pruning would silently drop them (a typo would vanish instead of failing).
func closeObjects(node any) {
	switch n := node.(type) {
	case map[string]any:
		if _, has := n["properties"]; has && n["additionalProperties"] == nil && n["x-kubernetes-preserve-unknown-fields"] != true {
			n["additionalProperties"] = false
		}
		for _, v := range n {
			closeObjects(v)
		}
	case []any:
		for _, v := range n {
			closeObjects(v)
		}
	}
}

// Every alert of the PrometheusRule is valid PromQL and fires (and stays quiet) as its unit
// tests say (promtool, from Debian's prometheus package).
func TestAlertRules(t *testing.T) {
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = filepath.Join("skmall", "files")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
