package fleet

import "testing"

func TestBatchSize(t *testing.T) {
	tests := []struct {
		name    string
		s       *Sender
		n, want int
	}{
		{"a few cards go one per request", &Sender{}, 20, 1},
		{"more than the threshold go in batches of the default", &Sender{}, 21, DefaultBatch},
		{"ENCO_M2M_BATCH", &Sender{Batch: 10}, 30, 10},
		{"BULK_THRESHOLD", &Sender{PerCard: 3, Batch: 10}, 4, 10},
		{"one card per request never", &Sender{PerCard: -1, Batch: 10}, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.BatchSize(tt.n); got != tt.want {
				t.Errorf("BatchSize(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	for _, tt := range []struct{ n, size, want int }{{0, 500, 0}, {1, 500, 1}, {500, 500, 1}, {501, 500, 2}, {10000, 500, 20}, {5, 0, 0}} {
		if got := Batches(tt.n, tt.size); got != tt.want {
			t.Errorf("Batches(%d, %d) = %d, want %d", tt.n, tt.size, got, tt.want)
		}
	}
}
