package helm

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

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
			Name  string `json:"name"`
			Value string `json:"value"`
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
				if _, ok := o.meta("maxLenApprox"); !ok {
					t.Errorf("%s: no maxLenApprox; the streams would never be trimmed", where)
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
