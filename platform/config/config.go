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

// Log writes cfg as one log line; fields tagged `secret:"true"` show only whether they are set.
func Log(log *slog.Logger, cfg any) {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	attrs := make([]any, 0, v.NumField())
	for i := range v.NumField() {
		f := v.Type().Field(i)
		val := v.Field(i).Interface()
		if f.Tag.Get("secret") == "true" {
			val = "***"
			if v.Field(i).IsZero() {
				val = ""
			}
		}
		attrs = append(attrs, slog.Any(f.Name, val))
	}
	log.Info("configuration", attrs...)
}
