package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// manifestSchemaDir holds Slack's published app-manifest schema
// (slackapi/manifest-schema, v0.5.0), copied so that the test needs no
// network: manifest.schema.json picks version 1 or 2 by
// _metadata.major_version and refers to the two versions by these URLs.
const manifestSchemaDir = "testdata/slack-manifest-schema"

var manifestSchemaURLs = map[string]string{
	"https://github.com/slackapi/manifest-schema/blob/main/manifest.schema.json":                           "manifest.schema.json",
	"https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.1.0.0.json": "manifest.schema.1.0.0.json",
	"https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.2.0.0.json": "manifest.schema.2.0.0.json",
}

// slackManifestSchema compiles Slack's schema from the local copies.
func slackManifestSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	// JSON Schema patterns are ECMA-262 regular expressions; Slack's use
	// look-ahead, which Go's regexp lacks.
	c.UseRegexpEngine(ecmaRegexp)
	for url, file := range manifestSchemaURLs {
		f, err := os.Open(filepath.Join(manifestSchemaDir, file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	sch, err := c.Compile("https://github.com/slackapi/manifest-schema/blob/main/manifest.schema.json")
	if err != nil {
		t.Fatalf("compile Slack's manifest schema: %v", err)
	}
	return sch
}

// ecmaRegexp compiles a schema pattern as ECMAScript does.
func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecmaPattern)(re), nil
}

type ecmaPattern regexp2.Regexp

func (re *ecmaPattern) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaPattern) String() string { return (*regexp2.Regexp)(re).String() }

// manifestJSON reads YAML the way Slack does and returns it as the JSON
// values the validator takes.
func manifestJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("manifest as JSON: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestManifestPassesSlackSchema validates manifest.yml against Slack's
// published manifest schema, as "Create app from manifest" would. Without
// _metadata.major_version 2 the same file is read as version 1, whose
// function parameters are lists, and is refused: the second case shows the
// validator sees the steps at all.
func TestManifestPassesSlackSchema(t *testing.T) {
	sch := slackManifestSchema(t)
	raw, err := os.ReadFile("../../manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(manifestJSON(t, raw)); err != nil {
		t.Fatalf("manifest.yml fails Slack's manifest schema:\n%v", err)
	}

	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "_metadata")
	v1, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var verr *jsonschema.ValidationError
	if err := sch.Validate(manifestJSON(t, v1)); !errors.As(err, &verr) {
		t.Fatalf("manifest.yml read as version 1: got %v, want the schema to refuse its version-2 function parameters", err)
	}
}
