package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// platformVariables are the platforms' settings, read by the adapters from
// the environment (README, "Platforms").
var platformVariables = []string{
	"ENTRAIDE_MATRIX_HOMESERVER", "ENTRAIDE_MATRIX_USER", "ENTRAIDE_MATRIX_PASSWORD", "ENTRAIDE_MATRIX_TOKEN",
	"ENTRAIDE_MATRIX_DEVICE_ID", "ENTRAIDE_MATRIX_PICKLE_KEY", "ENTRAIDE_MATRIX_ENCRYPTION", "ENTRAIDE_MATRIX_ALLOWED_SERVERS",
	"ENTRAIDE_SLACK_BOT_TOKEN", "ENTRAIDE_SLACK_APP_TOKEN", "ENTRAIDE_SLACK_SIGNING_SECRET", "ENTRAIDE_SLACK_LISTEN",
	"ENTRAIDE_SLACK_API_URL", "ENTRAIDE_DISCORD_TOKEN", "ENTRAIDE_DISCORD_APP_ID", "ENTRAIDE_DISCORD_GUILD_IDS",
	"ENTRAIDE_DISCORD_API_URL", "ENTRAIDE_DISCORD_MESSAGE_CONTENT",
}

// maxConfigFile bounds the configuration file, in bytes.
const maxConfigFile = 1 << 20

// withConfigFile returns getenv, completed by the YAML file that
// ENTRAIDE_CONFIG names, if any: a mapping of the same variables as the
// environment (ENTRAIDE_DATABASE: ..., ENTRAIDE_MATRIX_HOMESERVER: ...),
// a list standing for comma-separated values. The environment wins over
// the file, and flags over both. A key that is no setting of entraide, a
// nested value or an unreadable file stops entraide with the line to fix.
func withConfigFile(getenv func(string) string) (func(string) string, error) {
	path := getenv("ENTRAIDE_CONFIG")
	if path == "" {
		return getenv, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ENTRAIDE_CONFIG=%q: %w", path, err)
	}
	if info.Size() > maxConfigFile {
		return nil, fmt.Errorf("ENTRAIDE_CONFIG=%q: %d bytes, at most %d", path, info.Size(), maxConfigFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ENTRAIDE_CONFIG=%q: %w", path, err)
	}
	values, err := parseConfigFile(data)
	if err != nil {
		return nil, fmt.Errorf("ENTRAIDE_CONFIG=%q: %w", path, err)
	}
	return func(key string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return values[key]
	}, nil
}

// parseConfigFile reads the YAML mapping of a configuration file.
func parseConfigFile(data []byte) (map[string]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	values := map[string]string{}
	if len(doc.Content) == 0 {
		return values, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of settings, such as ENTRAIDE_DATABASE: entraide.db", root.Line)
	}
	known := map[string]bool{}
	cfg := defaultConfig()
	for _, s := range cfg.settings() {
		known[s.env] = true
	}
	for _, v := range platformVariables {
		known[v] = true
	}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		switch {
		case !known[key.Value]:
			errs = append(errs, fmt.Errorf("line %d: %q is not a setting of entraide (the variables are listed in README.md, Configuration and Platforms)", key.Line, key.Value))
			continue
		case values[key.Value] != "":
			errs = append(errs, fmt.Errorf("line %d: %s is given twice", key.Line, key.Value))
			continue
		}
		switch value.Kind {
		case yaml.ScalarNode:
			values[key.Value] = value.Value
		case yaml.SequenceNode:
			var items []string
			for _, item := range value.Content {
				if item.Kind != yaml.ScalarNode {
					errs = append(errs, fmt.Errorf("line %d: %s: want a list of plain values", item.Line, key.Value))
					continue
				}
				items = append(items, item.Value)
			}
			values[key.Value] = strings.Join(items, ",")
		default:
			errs = append(errs, fmt.Errorf("line %d: %s: want a value or a list, not a mapping", value.Line, key.Value))
		}
	}
	return values, errors.Join(errs...)
}
