package enco_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
)

// addSeeds adds every JSON sample in testdata to the fuzz corpus.
func addSeeds(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples in testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// decodeBudget is the most one decoding of a callback body may take. A body
// is at most MaxCallbackBody bytes and decoding is linear, so any input
// takes well under a millisecond; the budget leaves room for a busy machine
// and the fuzzer's instrumentation while still failing a decoder whose time
// grows with the square of its input (seconds for 64 KiB).
const decodeBudget = 250 * time.Millisecond

// withinBudget runs decode and fails when it took longer than decodeBudget.
func withinBudget(t *testing.T, data []byte, decode func()) {
	t.Helper()
	start := time.Now()
	decode()
	if took := time.Since(start); took > decodeBudget {
		t.Fatalf("decoding %d bytes took %v, over the budget of %v: %.200q", len(data), took, decodeBudget, data)
	}
}

// checkRefusal fails unless err is one of the decoders' documented errors.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, enco.ErrBadCallback) && !errors.Is(err, enco.ErrCallbackTooLarge) {
		t.Fatalf("error %v is neither ErrBadCallback nor ErrCallbackTooLarge", err)
	}
}

func FuzzDecodeM2MResult(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r enco.M2MResult
		var err error
		withinBudget(t, data, func() { r, err = enco.DecodeM2MResult(data) })
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if r.TrackingNumber == "" || r.Device.Identifier == "" {
			t.Fatalf("accepted %q without tracking number or device: %+v", data, r)
		}
		if len(data) > enco.MaxCallbackBody {
			t.Fatalf("accepted %d bytes, over the cap", len(data))
		}
	})
}

func FuzzDecodeFMUResults(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var results []enco.FMUResult
		var err error
		withinBudget(t, data, func() { results, err = enco.DecodeFMUResults(data) })
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if len(results) == 0 {
			t.Fatalf("accepted %q with no results", data)
		}
		for i, r := range results {
			if r.MSISDN == "" {
				t.Fatalf("accepted %q: result %d has no msisdn", data, i)
			}
			if r.Kind != enco.FMUKindStatus && r.Kind != enco.FMUKindChange {
				t.Fatalf("accepted %q: result %d has kind %q", data, i, r.Kind)
			}
		}
	})
}

func FuzzDecodeCDR(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c enco.CDR
		var err error
		withinBudget(t, data, func() { c, err = enco.DecodeCDR(data) })
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if c.SessionID == "" {
			t.Fatalf("accepted %q without sessionId", data)
		}
		if c.CallDuration < 0 {
			t.Fatalf("accepted %q with negative duration %d", data, c.CallDuration)
		}
	})
}
