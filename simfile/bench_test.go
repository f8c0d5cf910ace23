package simfile

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParse10000 reads a spreadsheet export of 10,000 numbers.
func BenchmarkParse10000(b *testing.B) {
	var file bytes.Buffer
	file.WriteString("site;msisdn\n")
	for i := range 10000 {
		fmt.Fprintf(&file, "site %d;0472%06d\n", i, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		list, err := Parse(file.Bytes())
		if err != nil || len(list.Cards) != 10000 {
			b.Fatalf("%d cards, %v", len(list.Cards), err)
		}
	}
}

// BenchmarkReadAtMost10000Of10MB reads a 10 MB file of some 950,000
// numbers up to the default limit of one change, 10,000 cards.
func BenchmarkReadAtMost10000Of10MB(b *testing.B) {
	var file bytes.Buffer
	for i := 0; file.Len() < MaxBytes-12; i++ {
		fmt.Fprintf(&file, "0472%06d\n", i%1000000)
	}
	b.ReportAllocs()
	for b.Loop() {
		list, err := ReadAtMost(bytes.NewReader(file.Bytes()), 10000)
		if err != nil || !list.Over {
			b.Fatalf("%d cards, over %t, %v", len(list.Cards), list.Over, err)
		}
	}
}
