package helm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// daprObject is the part of a Dapr Component or Subscription these checks read.
type daprObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Type     string `json:"type"`
		Metadata []struct {
			Name         string `json:"name"`
			Value        string `json:"value"`
			SecretKeyRef *struct {
				Key string `json:"key"`
			} `json:"secretKeyRef"`
		} `json:"metadata"`
		Topic           string `json:"topic"`
		DeadLetterTopic string `json:"deadLetterTopic"`
	} `json:"spec"`
}

func (o daprObject) meta(name string) (string, bool) {
	for _, m := range o.Spec.Metadata {
		if m.Name == name {
			return m.Value, true
		}
	}
	return "", false
}

// TestBrokersKeepTheirPromises reads the broker components and subscriptions of every profile
// and of the chart (each broker) for settings daprd takes in only one form, and for what keeps
// events from being lost or piling up without bound.
func TestBrokersKeepTheirPromises(t *testing.T) {
	sets := map[string][][]byte{}
	files, _ := filepath.Glob(filepath.Join("..", "components", "*", "*.yaml"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		profile := filepath.Base(filepath.Dir(f))
		sets[profile] = append(sets[profile], splitYAML(t, raw)...)
	}
	for _, ps := range pubsubs {
		sets["chart/"+ps] = splitYAML(t, runHelm(t, "template", "shop", "skmall", "--set", "pubsub.type="+ps))
	}
	for name, docs := range sets {
		for _, doc := range docs {
			var o daprObject
			if err := yaml.Unmarshal(doc, &o); err != nil {
				t.Fatal(err)
			}
			where := name + ": " + o.Kind + " " + o.Metadata.Name
			switch {
			case o.Kind == "Subscription" && o.Spec.DeadLetterTopic == "":
				t.Errorf("%s: no deadLetterTopic; Redis Streams acknowledges an event the app failed to take, and it is gone", where)
			case o.Kind == "Component" && o.Spec.Type == "pubsub.redis":
				// daprd reads redeliverInterval with strconv.ParseUint (milliseconds) and
				// silently ignores anything else, such as "5s".
				for _, k := range []string{"redeliverInterval", "processingTimeout"} {
					v, ok := o.meta(k)
					if _, err := strconv.ParseUint(v, 10, 64); !ok || err != nil {
						t.Errorf("%s: %s is %q; daprd takes only a number of milliseconds", where, k, v)
					}
				}
				// daprd decodes it as an int64: "1e+06" (how a template prints a large
				// number) stops the sidecar at start.
				if v, ok := o.meta("maxLenApprox"); !ok {
					t.Errorf("%s: no maxLenApprox; the streams would never be trimmed", where)
				} else if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					t.Errorf("%s: maxLenApprox is %q; daprd takes only an integer", where, v)
				}
				// daprd's default of 10 events in flight per sidecar, over all of the app's topics,
				// held mypage (two events per order) at 110-129 rows a second while 136-217 orders
				// a second were taken (make bench, saturation).
				if v, _ := o.meta("concurrency"); name != "local" {
					if n, err := strconv.Atoi(v); err != nil || n < 32 {
						t.Errorf("%s: concurrency is %q, want at least 32 events in flight", where, v)
					}
				}
			case o.Kind == "Component" && o.Spec.Type == "pubsub.kafka":
				// Each app id its own consumer group (replicas share it); a new group starts at
				// the oldest message; a message the app could not take is retried, not skipped.
				for k, want := range map[string]string{"initialOffset": "oldest", "consumeRetryEnabled": "true"} {
					if v, _ := o.meta(k); v != want {
						t.Errorf("%s: %s is %q, want %q", where, k, v, want)
					}
				}
				if v, _ := o.meta("consumerGroup"); !strings.HasPrefix(v, "{appID}") {
					t.Errorf("%s: consumerGroup is %q, want one per app id ({appID})", where, v)
				}
				if v, _ := o.meta("maxMessageBytes"); o.Metadata.Name == "pubsub" {
					if n, err := strconv.Atoi(v); err != nil || n < 1024 {
						t.Errorf("%s: maxMessageBytes is %q, want a number of bytes", where, v)
					}
				}
			case o.Kind == "Component" && o.Spec.Type == "pubsub.rabbitmq":
				for k, want := range map[string]string{"durable": "true", "deletedWhenUnused": "false", "requeueInFailure": "true"} {
					if v, _ := o.meta(k); v != want {
						t.Errorf("%s: %s is %q, want %q: otherwise a queue or a message the app could not take vanishes", where, k, v, want)
					}
				}
			}
		}
	}
}

// TestKafkaCredentialsComeFromTheSecret renders the chart's Kafka components with SASL and TLS:
// the user, password and CA come from the Secret, never from values, and TLS is on.
func TestKafkaCredentialsComeFromTheSecret(t *testing.T) {
	out := runHelm(t, "template", "shop", "skmall", "--set", "pubsub.type=kafka",
		"--set", "pubsub.kafka.authType=password", "--set", "pubsub.kafka.tls=true")
	var kafka int
	for _, doc := range splitYAML(t, out) {
		var o daprObject
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatal(err)
		}
		if o.Kind != "Component" || o.Spec.Type != "pubsub.kafka" {
			continue
		}
		kafka++
		refs := map[string]string{}
		for _, m := range o.Spec.Metadata {
			if m.SecretKeyRef != nil {
				refs[m.Name] = m.SecretKeyRef.Key
			}
		}
		fromSecret := map[string]string{ //nolint:gosec // G101: names of Secret keys, not credentials
			"brokers": "KAFKA_BROKERS", "saslUsername": "KAFKA_SASL_USERNAME", "saslPassword": "KAFKA_SASL_PASSWORD", "caCert": "KAFKA_CA_CERT"}
		for name, key := range fromSecret {
			if refs[name] != key {
				t.Errorf("%s: %s comes from %q, want the Secret's %s", o.Metadata.Name, name, refs[name], key)
			}
		}
		for k, want := range map[string]string{"authType": "password", "disableTls": "false"} {
			if v, _ := o.meta(k); v != want {
				t.Errorf("%s: %s is %q, want %q", o.Metadata.Name, k, v, want)
			}
		}
	}
	if kafka != 1 {
		t.Fatalf("%d Kafka components, want pubsub", kafka)
	}
}

// TestSidecarsFindOnlyTheirOwnShop reads the self-hosted sidecars' name resolution: a SQLite
// file in the folder each shop's sidecars run in (relative), not mDNS; the resolver's
// clean-up off, since in Dapr 1.18 it deletes the live registrations (every sidecar then
// exits); and more than Dapr's 1 s for a renewal to land before others pass a sidecar over.
func TestSidecarsFindOnlyTheirOwnShop(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "components", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Spec struct {
			NameResolution struct {
				Component     string            `json:"component"`
				Configuration map[string]string `json:"configuration"`
			} `json:"nameResolution"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &config); err != nil {
		t.Fatal(err)
	}
	nr := config.Spec.NameResolution
	if nr.Component != "sqlite" {
		t.Fatalf("name resolution %q, want sqlite", nr.Component)
	}
	if c := nr.Configuration["connectionString"]; c == "" || filepath.IsAbs(c) || strings.Contains(c, "/") {
		t.Errorf("connectionString %q: want a file name, relative to the folder the shop's sidecars run in", c)
	}
	if c := nr.Configuration["cleanupInterval"]; c != "0" {
		t.Errorf("cleanupInterval %q: want \"0\" (off)", c)
	}
	update, err1 := time.ParseDuration(nr.Configuration["updateInterval"])
	timeout, err2 := time.ParseDuration(nr.Configuration["timeout"])
	if err1 != nil || err2 != nil || timeout < 2*time.Second || update-timeout < 2*time.Second {
		t.Errorf("updateInterval %q, timeout %q: want a renewal every 2 s or more, with 2 s or more to land",
			nr.Configuration["updateInterval"], nr.Configuration["timeout"])
	}
}
