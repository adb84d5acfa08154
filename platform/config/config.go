// Package config loads a service's configuration from the environment, once, and logs it
// with secrets masked.
package config

import (
	"fmt"
	"log/slog"
	"reflect"

	"github.com/kelseyhightower/envconfig"
)

// Load fills cfg (a pointer to a struct with envconfig tags and defaults) from the environment.
func Load(cfg any) error {
	if err := envconfig.Process("", cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// Log writes cfg as one log line; fields tagged `secret:"true"` (also in embedded structs)
// show only whether they are set.
func Log(log *slog.Logger, cfg any) {
	log.Info("configuration", fields(reflect.Indirect(reflect.ValueOf(cfg)))...)
}

func fields(v reflect.Value) []any {
	attrs := make([]any, 0, v.NumField())
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		switch {
		case f.Anonymous && fv.Kind() == reflect.Struct:
			attrs = append(attrs, fields(fv)...)
		case f.Tag.Get("secret") == "true":
			masked := ""
			if !fv.IsZero() {
				masked = "***"
			}
			attrs = append(attrs, slog.String(f.Name, masked))
		default:
			attrs = append(attrs, slog.Any(f.Name, fv.Interface()))
		}
	}
	return attrs
}
