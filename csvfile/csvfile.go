// Package csvfile writes the CSV files the bot attaches to Slack: cut lists,
// the targets EnCo never answered for, the results of fleet changes. Every
// such file goes through its Writer.
//
// The cells hold data from EnCo and from people (a cost centre, an APN, a
// call's release text), and a spreadsheet runs a cell that starts with `=`,
// `+`, `-` or `@` as a formula — a tab or carriage return first can hide the
// same. So the Writer neutralises such a cell the usual way, with a leading
// `'`: a spreadsheet shows the text and runs nothing. Phone numbers written
// "+32 …" get the quote too; a spreadsheet would otherwise read them as sums.
package csvfile

import (
	"bytes"
	"encoding/csv"
	"io"
)

// Writer writes CSV records with every cell made safe for spreadsheets
// (see Cell). Its zero value is not usable; make one with NewWriter.
type Writer struct {
	w *csv.Writer
	// cells is the record being written, reused between records.
	cells []string
}

// NewWriter returns a Writer that writes to w, buffered: call Flush.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell passed through Cell. The caller's
// slice is left as it was.
func (w *Writer) Write(record []string) error {
	w.cells = w.cells[:0]
	for _, c := range record {
		w.cells = append(w.cells, Cell(c))
	}
	return w.w.Write(w.cells)
}

// Flush writes what is buffered and reports any error of this or an
// earlier write.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Bytes is a whole file: the header, then the rows.
func Bytes(header []string, rows [][]string) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	_ = w.Write(header)
	for _, row := range rows {
		_ = w.Write(row)
	}
	_ = w.Flush() // writes to a bytes.Buffer cannot fail
	return buf.Bytes()
}

// Cell returns s as a cell no spreadsheet runs: s itself, or s after a `'`
// when it starts with `=`, `+`, `-`, `@`, a tab or a carriage return.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
