package enco_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeM2MResult(t *testing.T) {
	tests := []struct {
		file      string
		want      enco.M2MResult
		succeeded bool
		wantErr   error
	}{
		{file: "m2m_docs_sample.json", succeeded: true, want: enco.M2MResult{
			TrackingNumber: "717ccaa0-1234-5678-1234-9444e657ca96",
			Device:         enco.Device{Identifier: "0123456789012345678", IdentifierType: enco.ICCID},
			ResultStatus:   "Success",
		}},
		{file: "m2m_failed_message_objects.json", want: enco.M2MResult{
			TrackingNumber: "717ccaa0-0001-4000-8000-000000000001",
			Device:         enco.Device{Identifier: "8932010000000000004", IdentifierType: enco.ICCID},
			ResultStatus:   "FAILED",
			Messages:       []string{"deactivation is not possible for a SIM card in state Ready", `{"severity":"info"}`},
		}},
		{file: "m2m_lowercase_unknown_fields.json", succeeded: true, want: enco.M2MResult{
			TrackingNumber: "t-2",
			Device:         enco.Device{Identifier: "8932010000000000001", IdentifierType: enco.ICCID},
			ResultStatus:   "success",
			Messages:       []string{"done"},
		}},
		{file: "m2m_array_of_one.json", want: enco.M2MResult{
			TrackingNumber: "t-3",
			Device:         enco.Device{Identifier: "206010000000003", IdentifierType: enco.IMSI},
			ResultStatus:   "Failed",
			Messages:       []string{"SIM card not found"},
		}},
		{file: "m2m_numeric_identifier.json", succeeded: true, want: enco.M2MResult{
			TrackingNumber: "t-4",
			Device:         enco.Device{Identifier: "8932010000000000005", IdentifierType: enco.ICCID},
			ResultStatus:   "Success",
		}},
		{file: "m2m_missing_tracking.json", wantErr: enco.ErrBadCallback},
		{file: "m2m_missing_device.json", wantErr: enco.ErrBadCallback},
		{file: "m2m_trailing_garbage.json", wantErr: enco.ErrBadCallback},
		{file: "m2m_two_results.json", wantErr: enco.ErrBadCallback},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := enco.DecodeM2MResult(readTestdata(t, tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %+v, %v, want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.Succeeded() != tt.succeeded {
				t.Errorf("Succeeded(): got %v, want %v", got.Succeeded(), tt.succeeded)
			}
		})
	}
}

func TestDecodeFMUResults(t *testing.T) {
	tests := []struct {
		file       string
		want       []enco.FMUResult
		wantFailed []bool
		wantErr    error
	}{
		{file: "fmu_status_array.json", wantFailed: []bool{false, true}, want: []enco.FMUResult{
			{MSISDN: "32470000001", Status: enco.ProfilePrivate, Kind: enco.FMUKindStatus},
			{MSISDN: "32479999999", IsError: true, Message: "MSISDN not found or FMU option not active", Kind: enco.FMUKindStatus},
		}},
		{file: "fmu_docs_change.json", wantFailed: []bool{false}, want: []enco.FMUResult{
			{MSISDN: "32477121212", Success: true, Kind: enco.FMUKindChange},
		}},
		{file: "fmu_change_words.json", wantFailed: []bool{false, true, true}, want: []enco.FMUResult{
			{MSISDN: "32470000002", Success: true, Kind: enco.FMUKindChange},
			{MSISDN: "32470000003", Message: "FMU option not active", Kind: enco.FMUKindChange},
			{MSISDN: "32470000004", Message: "timeout", Kind: enco.FMUKindChange},
		}},
		{file: "fmu_status_tolerant.json", wantFailed: []bool{false}, want: []enco.FMUResult{
			{MSISDN: "32470000003", Status: enco.ProfileOnDuty, Kind: enco.FMUKindStatus},
		}},
		{file: "fmu_status_unknown_word.json", wantFailed: []bool{true}, want: []enco.FMUResult{
			{MSISDN: "32470000005", Status: "VACATION", Kind: enco.FMUKindStatus},
		}},
		{file: "fmu_missing_msisdn.json", wantErr: enco.ErrBadCallback},
		{file: "fmu_empty_array.json", wantErr: enco.ErrBadCallback},
		{file: "fmu_not_object.json", wantErr: enco.ErrBadCallback},
		{file: "m2m_trailing_garbage.json", wantErr: enco.ErrBadCallback},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := enco.DecodeFMUResults(readTestdata(t, tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %+v, %v, want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			for i, r := range got {
				if r.Failed() != tt.wantFailed[i] {
					t.Errorf("result %d Failed(): got %v, want %v", i, r.Failed(), tt.wantFailed[i])
				}
			}
		})
	}
}

func TestDecodeCDR(t *testing.T) {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		file    string
		want    enco.CDR
		wantErr error
	}{
		{file: "cdr_docs_item.json", want: enco.CDR{
			SessionID: "61146645", Origin: "32xxxxxxxx", Destination: "32xxxxxxxx", Presentation: "allowed",
			RequestTime: at("2021-10-19T14:13:57Z"), CallOneSetup: at("2021-10-19T14:13:57Z"), CallOneRelease: at("2021-10-19T14:13:57Z"),
			CallReleaseInfo: "Leg1-404-NotFound received",
		}},
		{file: "cdr_page_of_one.json", want: enco.CDR{
			SessionID: "61170001", Origin: "3228160257", Destination: "32468373901", Presentation: "restricted",
			RequestTime: at("2021-10-25T07:31:20.25Z"), CallOneSetup: at("2021-10-25T07:31:22Z"), CallOneRelease: at("2021-10-25T07:33:07Z"),
			CallDuration: 95, CallReleaseInfo: "Normal Clearing", WebRTC: true,
		}},
		{file: "cdr_loose_types.json", want: enco.CDR{
			SessionID: "61180002", Origin: "3228160257", Destination: "+32468373950", Presentation: "ALLOWED",
			RequestTime: at("2021-10-25T07:31:20Z"), CallOneSetup: at("2021-10-25T07:31:22Z"), CallOneRelease: at("2021-10-25T07:31:30Z"),
			CallDuration: 12, CallReleaseInfo: "Leg2-486-Busy Here", WebRTC: true,
		}},
		{file: "cdr_page_of_two.json", wantErr: enco.ErrBadCallback},
		{file: "cdr_missing_session.json", wantErr: enco.ErrBadCallback},
		{file: "fmu_empty_array.json", wantErr: enco.ErrBadCallback},
		{file: "m2m_trailing_garbage.json", wantErr: enco.ErrBadCallback},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := enco.DecodeCDR(readTestdata(t, tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %+v, %v, want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.RequestTime.Equal(tt.want.RequestTime) || !got.CallOneSetup.Equal(tt.want.CallOneSetup) || !got.CallOneRelease.Equal(tt.want.CallOneRelease) {
				t.Errorf("times: got %v %v %v, want %v %v %v", got.RequestTime, got.CallOneSetup, got.CallOneRelease,
					tt.want.RequestTime, tt.want.CallOneSetup, tt.want.CallOneRelease)
			}
			got.RequestTime, got.CallOneSetup, got.CallOneRelease = time.Time{}, time.Time{}, time.Time{}
			tt.want.RequestTime, tt.want.CallOneSetup, tt.want.CallOneRelease = time.Time{}, time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCallbackDecodersRefuseOversizeBodies(t *testing.T) {
	valid := readTestdata(t, "m2m_docs_sample.json")
	// Valid JSON, padded with spaces past the cap.
	big := append(bytes.Repeat([]byte(" "), enco.MaxCallbackBody), valid...)
	decoders := []struct {
		name   string
		decode func([]byte) error
	}{
		{"m2m", func(b []byte) error { _, err := enco.DecodeM2MResult(b); return err }},
		{"fmu", func(b []byte) error { _, err := enco.DecodeFMUResults(b); return err }},
		{"cdr", func(b []byte) error { _, err := enco.DecodeCDR(b); return err }},
	}
	for _, d := range decoders {
		t.Run(d.name, func(t *testing.T) {
			if err := d.decode(big); !errors.Is(err, enco.ErrCallbackTooLarge) {
				t.Errorf("got %v, want ErrCallbackTooLarge", err)
			}
			for _, bad := range []string{"", "null", "{", "not json", `"text"`} {
				if err := d.decode([]byte(bad)); !errors.Is(err, enco.ErrBadCallback) {
					t.Errorf("%q: got %v, want ErrBadCallback", bad, err)
				}
			}
		})
	}
}
