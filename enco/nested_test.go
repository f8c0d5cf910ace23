package enco_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
)

// nestedBodies are callback bodies of about 64 KiB whose message is nested
// as deep as the size allows: the shape that made decoding quadratic.
func nestedBodies() map[string][]byte {
	nest := func(open, close string, room int) string {
		depth := room / (len(open) + len(close))
		return strings.Repeat(open, depth) + `"why"` + strings.Repeat(close, depth)
	}
	const room = enco.MaxCallbackBody - 200
	return map[string][]byte{
		"FMU error objects": []byte(`[{"msisdn":"32470000001","success":false,"error":` + nest(`{"message":`, `}`, room) + `}]`),
		"FMU error lists":   []byte(`[{"msisdn":"32470000001","success":false,"error":` + nest(`{"detail":[`, `]}`, room) + `}]`),
		"M2M messages": []byte(`{"trackingNumber":"T","device":{"identifier":"8932","identifierType":"ICCID"},"resultStatus":"Failed","extra":1,"messages":[` +
			nest(`{"text":`, `}`, room) + `]}`),
		"CDR release info": []byte(`{"sessionId":"S1","callDuration":0,"callReleaseInfo":` + nest(`{"reason":`, `}`, room) + `}`),
	}
}

// Decoding a nested body allocates in proportion to its size. The quadratic
// reading decoded each level's members again, copying what lay below it:
// hundreds of megabytes for 64 KiB. Bytes allocated are counted, not timed,
// so that a busy machine cannot make this test fail (BenchmarkDecodeNested
// measures the time).
func TestDecodingANestedBodyIsLinear(t *testing.T) {
	for name, body := range nestedBodies() {
		t.Run(name, func(t *testing.T) {
			if len(body) > enco.MaxCallbackBody {
				t.Fatalf("body is %d bytes, over the cap", len(body))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			decodeAny(body)
			runtime.ReadMemStats(&after)
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(100*len(body)); got > limit {
				t.Errorf("decoding %d bytes allocated %d bytes, want at most %d (100 times the body)", len(body), got, limit)
			}
		})
	}
}

// decodeAny runs the decoder the body is meant for.
func decodeAny(body []byte) {
	switch {
	case strings.Contains(string(body[:20]), "msisdn"):
		_, _ = enco.DecodeFMUResults(body)
	case strings.Contains(string(body[:20]), "trackingNumber"):
		_, _ = enco.DecodeM2MResult(body)
	default:
		_, _ = enco.DecodeCDR(body)
	}
}

// BenchmarkDecodeNested decodes the 64 KiB nested bodies; the contract asks
// each to take well under 50 ms.
func BenchmarkDecodeNested(b *testing.B) {
	for name, body := range nestedBodies() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				decodeAny(body)
			}
		})
	}
}
