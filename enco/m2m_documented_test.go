package enco

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Bodies outside the documented shape, or at its edges, where a one-pass
// reading could part from the tolerant one.
var m2mEdgeBodies = []string{
	`{"trackingNumber":"A","TRACKINGNUMBER":"B","device":{"identifier":"1"}}`,
	`{"TRACKINGNUMBER":"A","tracking_number":"B","device":{"identifier":"1"}}`,
	`{"trackingNumber":null,"tracking_number":"B","device":{"identifier":"1"}}`,
	`{"trackingNumber":"A","device":{"identifier":"1"},"device":{}}`,
	`{"trackingNumber":"A","device":null,"identifier":"2"}`,
	`{"trackingNumber":"A","device":{"identifier":"1","IDENTIFIER":"2"}}`,
	`{"trackingNumber":"A","device":{"identifier":"1"},"resultStatus":null,"status":"Failed"}`,
	`{"trackingNumber":"A","device":{"identifier":"1"},"messages":null,"message":"why"}`,
	`{"trackingNumber":"A","device":{"identifier":"1"},"messages":"one line"}`,
	`{"trackingNumber":"A","device":{"identifier":"1"},"messages":[ ]}`,
	`{"trackingNumber":"A","device":"1"}`,
	`{"trackingNumber":"A","device":{"identifier":" "}}`,
	`{"trackingNumber":7,"device":{"identifier":1e3,"identifierType":"msisdn"}}`,
	`{"trackingNumber":"A","device":{"identifier":"1"}} trailing`,
	`{"trackingNumber":"\u0041","device":{"identifier":"1"},"resultStatus":"Succ\u0065ss"}`,
	`{"traciingNumber":"A","device":{"identifier":"1"}}`,
	`null`,
	`[]`,
}

// FuzzM2MDocumentedReadsAsTolerant checks the promise DecodeM2MResult rests
// on: every body the one-pass reading accepts, the tolerant reading accepts
// too, with the same result.
func FuzzM2MDocumentedReadsAsTolerant(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "m2m_*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no M2M samples in testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, body := range m2mEdgeBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeM2MDocumented(data)
		if !ok {
			return
		}
		slow, err := decodeM2MTolerant(data)
		if err != nil {
			t.Fatalf("one-pass reading accepted %q, tolerant refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q reads differently:\none pass %+v\ntolerant %+v", data, fast, slow)
		}
	})
}

// FuzzPlainString checks that a string literal read without a decoder reads
// as the decoder would read it.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"abc"`, `""`, `"a\"b"`, `"\u00e9"`, `"é"`, "\"\xff\"", "\"a\tb\"", `"a"b"`, `"`, `abc`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("plainString accepted %q, which does not decode: %v", raw, err)
		}
		if got != want {
			t.Fatalf("plainString(%q) = %q, decoder reads %q", raw, got, want)
		}
	})
}

func TestDecodeM2MResultTakesOnePassForTheDocumentedShape(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("testdata", "m2m_docs_sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeM2MDocumented(sample); !ok {
		t.Errorf("the documentation's sample is not read in one pass")
	}
	// What only the tolerant reading gets right goes to it.
	for _, tt := range []struct {
		body               string
		tracking, identity string
	}{
		// The exact name wins over another case, as everywhere in the decoders.
		{`{"trackingNumber":"A","TRACKINGNUMBER":"B","device":{"identifier":"1"}}`, "A", "1"},
		// An exact other name wins over the documented one in another case.
		{`{"TRACKINGNUMBER":"A","tracking_number":"B","device":{"identifier":"1"}}`, "B", "1"},
		// A null device leaves the identifiers at the top level.
		{`{"trackingNumber":"A","device":null,"identifier":"2"}`, "A", "2"},
		// A list holding the one result.
		{`[{"trackingNumber":"A","device":{"identifier":"3"}}]`, "A", "3"},
	} {
		if _, ok := decodeM2MDocumented([]byte(tt.body)); ok {
			t.Errorf("%s: read in one pass, want the tolerant reading", tt.body)
		}
		got, err := DecodeM2MResult([]byte(tt.body))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if got.TrackingNumber != tt.tracking || got.Device.Identifier != tt.identity {
			t.Errorf("%s: tracking %q, device %q; want %q, %q", tt.body, got.TrackingNumber, got.Device.Identifier, tt.tracking, tt.identity)
		}
	}
	// A body the tolerant reading refuses is refused, with its reason.
	_, err = DecodeM2MResult([]byte(`{"trackingNumber":"A","device":{"identifier":"1"},"device":{}}`))
	if err == nil || !strings.Contains(err.Error(), "no device identifier") {
		t.Errorf("a second, empty device: err = %v, want no device identifier", err)
	}
}

func BenchmarkDecodeM2MResult(b *testing.B) {
	sample, err := os.ReadFile(filepath.Join("testdata", "m2m_docs_sample.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		decode func([]byte) (M2MResult, error)
	}{
		{"documented", DecodeM2MResult},
		{"tolerant", decodeM2MTolerant},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.decode(sample); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
