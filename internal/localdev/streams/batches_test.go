package streams

import (
	"encoding/json"
	"strings"
	"testing"
)

// Batches stop at BatchSize records and at Lambda's 6 MB event limit.
func TestBatchesRespectCountAndPayload(t *testing.T) {
	rec := func(n int) record { return record{json: json.RawMessage(strings.Repeat("x", n))} }
	tests := []struct {
		name      string
		batchSize int
		sizes     []int
		want      []int // records per batch
	}{
		{"one batch", 100, []int{10, 10, 10}, []int{3}},
		{"by count", 2, []int{10, 10, 10, 10, 10}, []int{2, 2, 1}},
		{"by payload", 100, []int{3 << 20, 3 << 20, 10}, []int{1, 2}},
		{"a record alone over the limit still goes", 100, []int{7 << 20, 10}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Poller{opts: Options{BatchSize: tt.batchSize}}
			var recs []record
			for _, n := range tt.sizes {
				recs = append(recs, rec(n))
			}
			var got []int
			for _, b := range p.batches(recs) {
				got = append(got, len(b))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("batches = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("batches = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
