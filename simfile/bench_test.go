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
