package schema

import (
	"reflect"
	"testing"
)

func TestCreateTableInput(t *testing.T) {
	for _, tbl := range Tables() {
		in := tbl.CreateTableInput("x" + tbl.Name)
		if *in.TableName != "x"+tbl.Name || len(in.KeySchema) != 2 {
			t.Errorf("%s: %+v", tbl.Name, in.KeySchema)
		}
		// Every key attribute of the table and its indexes is defined once.
		defined := map[string]bool{}
		for _, d := range in.AttributeDefinitions {
			if defined[*d.AttributeName] {
				t.Errorf("%s: %s defined twice", tbl.Name, *d.AttributeName)
			}
			defined[*d.AttributeName] = true
		}
		for _, g := range in.GlobalSecondaryIndexes {
			for _, k := range g.KeySchema {
				if !defined[*k.AttributeName] {
					t.Errorf("%s/%s: key %s undefined", tbl.Name, *g.IndexName, *k.AttributeName)
				}
			}
		}
		// Deterministic, so CDK diffs and local tables never churn.
		if again := tbl.CreateTableInput("x" + tbl.Name); !reflect.DeepEqual(in.AttributeDefinitions, again.AttributeDefinitions) {
			t.Errorf("%s: attribute definitions change between calls", tbl.Name)
		}
	}
	byName := map[string]Table{}
	for _, tbl := range Tables() {
		byName[tbl.Name] = tbl
	}
	if audit := byName[Audit]; !audit.AppendOnly || audit.TTLAttribute != "" {
		t.Fatalf("the audit table must be append-only and never expire: %+v", audit)
	}
	// Chart content can never expire: the Messages table has no TTL at all,
	// so no bug can set an expiry on a message.
	if msgs := byName[Messages]; msgs.Name == "" || msgs.TTLAttribute != "" {
		t.Fatalf("the Messages table must exist and have no TTL attribute: %+v", msgs)
	}
	if idem := byName[Idempotency]; idem.TTLAttribute == "" {
		t.Fatalf("idempotency records must expire: %+v", idem)
	}
}
