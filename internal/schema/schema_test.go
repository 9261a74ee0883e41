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
	var audit *Table
	for _, tbl := range Tables() {
		if tbl.Name == Audit {
			audit = &tbl
		}
	}
	if audit == nil || !audit.AppendOnly || audit.TTLAttribute != "" {
		t.Fatalf("the audit table must be append-only and never expire: %+v", audit)
	}
}
