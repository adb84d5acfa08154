package helm

import (
	"maps"
	"os"
	"regexp"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// The local gateway (gateway/haproxy.cfg) and the chart's Ingress route the same public paths
// to the same services, both from files/routes.yaml: neither can gain or lose a path alone.
func TestGatewayAndIngressRouteTheSamePaths(t *testing.T) {
	raw, err := os.ReadFile("skmall/files/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{}
	if err := yaml.Unmarshal(raw, &routes); err != nil {
		t.Fatal(err)
	}
	if len(routes) == 0 {
		t.Fatal("files/routes.yaml routes nothing")
	}

	// The Ingress: one Prefix path per route, to the route's service.
	ingress := map[string]string{}
	for _, doc := range splitYAML(t, runHelm(t, "template", "shop", "skmall", "--namespace", "shop")) {
		if kindOf(doc) != "Ingress" {
			continue
		}
		var ing networkingv1.Ingress
		strict(t, doc, &ing)
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
					t.Errorf("ingress path %s is not a Prefix", p.Path)
				}
				ingress[p.Path] = p.Backend.Service.Name
			}
		}
	}
	if !maps.Equal(ingress, routes) {
		t.Errorf("the Ingress routes %v, files/routes.yaml says %v", ingress, routes)
	}

	// The gateway: for each service an acl matching the prefix exactly and as a folder, and a
	// use_backend to a backend of that name.
	cfg, err := os.ReadFile("../gateway/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	exact := map[string]string{}
	folder := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*acl (\S+) path (\S+)\s*$`).FindAllStringSubmatch(string(cfg), -1) {
		exact[m[2]] = m[1]
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*acl (\S+) path_beg (\S+)/\s*$`).FindAllStringSubmatch(string(cfg), -1) {
		folder[m[2]] = m[1]
	}
	if !maps.Equal(exact, routes) || !maps.Equal(folder, routes) {
		t.Errorf("the gateway matches %v exactly and %v as folders, files/routes.yaml says %v", exact, folder, routes)
	}
	backends := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*use_backend (\S+) if (\S+)\s*$`).FindAllStringSubmatch(string(cfg), -1) {
		if m[1] != m[2] {
			t.Errorf("use_backend %s if %s: the acl names the backend", m[1], m[2])
		}
		backends[m[1]] = true
	}
	services := map[string]bool{}
	for _, svc := range routes {
		services[svc] = true
	}
	if !maps.Equal(backends, services) {
		t.Errorf("the gateway routes to %v, files/routes.yaml to %v", backends, services)
	}
}

// The Ingress carries the rate limit of the values (ingress-nginx annotations), and none at 0.
func TestIngressLimitsEachClient(t *testing.T) {
	for set, want := range map[string]string{"ingress.rateLimit.rps=7": "7", "ingress.rateLimit.rps=0": ""} {
		for _, doc := range splitYAML(t, runHelm(t, "template", "shop", "skmall", "--set", set)) {
			if kindOf(doc) != "Ingress" {
				continue
			}
			var ing networkingv1.Ingress
			strict(t, doc, &ing)
			if got := ing.Annotations["nginx.ingress.kubernetes.io/limit-rps"]; got != want {
				t.Errorf("--set %s: limit-rps %q, want %q", set, got, want)
			}
		}
	}
}
