package contracts

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schemas/*.schema.json
var schemaFiles embed.FS

// ErrInvalidEvent marks a payload that breaks the contract: it can never be processed.
var ErrInvalidEvent = errors.New("invalid event")

var schemas = mustCompileSchemas()

func mustCompileSchemas() map[EventType]*jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := make(map[EventType]*jsonschema.Schema, len(EventTypes))
	for _, t := range EventTypes {
		name := SchemaFile(t)
		raw, err := schemaFiles.ReadFile(name)
		if err != nil {
			panic(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			panic(fmt.Errorf("%s: %w", name, err))
		}
		if err := c.AddResource(name, doc); err != nil {
			panic(err)
		}
		out[t] = c.MustCompile(name)
	}
	return out
}

// SchemaFile is the path, inside this module, of the JSON Schema of events of type t.
func SchemaFile(t EventType) string { return "schemas/" + string(t) + ".schema.json" }

// Validate checks a raw payload against the JSON Schema of its own eventType. The payload is
// parsed once: its type is read from the same document the schema checks.
func Validate(payload []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %w", ErrInvalidEvent, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: not a JSON object", ErrInvalidEvent)
	}
	t, _ := obj["eventType"].(string)
	s, ok := schemas[EventType(t)]
	if !ok {
		return fmt.Errorf("%w: unknown eventType %q", ErrInvalidEvent, t)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidEvent, t, err)
	}
	return nil
}

// Decode validates a raw payload against its schema and decodes it.
func Decode(payload []byte) (Event, error) {
	if err := Validate(payload); err != nil {
		return Event{}, err
	}
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// Encode validates an event against its schema and encodes it: a producer never sends what
// its consumers would reject.
func Encode(e Event) ([]byte, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", e, err)
	}
	if err := Validate(raw); err != nil {
		return nil, err
	}
	return raw, nil
}
