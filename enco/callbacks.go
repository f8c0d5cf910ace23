package enco

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxCallbackBody is the largest callback body the decoders accept. EnCo's
// callbacks are a few hundred bytes; a receiver should stop reading beyond
// this (for instance with http.MaxBytesReader) and answer 413.
const MaxCallbackBody = 64 << 10

// Errors wrapped by the callback decoders, so that a receiver can answer
// with the right status (413 for the first, 400 for the second).
var (
	ErrCallbackTooLarge = errors.New("callback body too large")
	ErrBadCallback      = errors.New("malformed callback")
)

// The decoders below are tolerant where EnCo's shapes are loose (unknown
// fields ignored, any key case, numbers or strings for identifiers, an
// object or a list where a list is plausible, status words in any case) and
// strict where it matters: the size cap, valid JSON with nothing after it,
// and the fields a result cannot be routed without.

// checkCallback applies the size cap and JSON validity to a callback body.
func checkCallback(what string, data []byte) error {
	if len(data) > MaxCallbackBody {
		return fmt.Errorf("%s: %w: %d bytes, limit %d", what, ErrCallbackTooLarge, len(data), MaxCallbackBody)
	}
	if !json.Valid(data) {
		return badCallback(what, "not a single valid JSON value")
	}
	return nil
}

func badCallback(what, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", what, ErrBadCallback, fmt.Sprintf(format, args...))
}

// M2MResult is the outcome of an M2M request for one device.
type M2MResult struct {
	TrackingNumber string `json:"trackingNumber"`
	// Device is the card as EnCo names it in the callback, often by ICCID
	// whatever identifier the request used.
	Device Device `json:"device"`
	// ResultStatus is "Success" or a failure word.
	ResultStatus string `json:"resultStatus"`
	// Messages explain the result, as readable text.
	Messages []string `json:"messages,omitempty"`
}

// Succeeded reports whether ResultStatus says success, in any case.
func (r M2MResult) Succeeded() bool {
	switch strings.ToLower(strings.TrimSpace(r.ResultStatus)) {
	case "success", "succeeded", "successful", "ok":
		return true
	}
	return false
}

// DecodeM2MResult decodes the body of an M2M callback: one object (or a list
// holding exactly one) with a tracking number and a device identifier.
// Messages may be strings or objects; objects are reduced to their text.
//
// A body in the documented shape is read in one pass (decodeM2MDocumented);
// any other goes through the tolerant reading, which gives the same result
// for a documented body, only more slowly.
func DecodeM2MResult(data []byte) (M2MResult, error) {
	if len(data) <= MaxCallbackBody {
		if r, ok := decodeM2MDocumented(data); ok {
			return r, nil
		}
	}
	return decodeM2MTolerant(data)
}

// rawOnce is an object member's raw value and how many times the object
// named it (in any case). Raw points into the body being decoded, so it
// lives only as long as that decoding.
type rawOnce struct {
	raw json.RawMessage
	n   int
}

func (r *rawOnce) UnmarshalJSON(b []byte) error {
	r.raw = b
	r.n++
	return nil
}

// once reports whether the member was named once, with a value other than
// null.
func (r rawOnce) once() bool { return r.n == 1 && !isNull(r.raw) }

// m2mDocumented is the M2M callback as the API documentation shows it,
// with the other names the tolerant reading accepts, so that a body using
// them can be told apart.
type m2mDocumented struct {
	TrackingNumber rawOnce `json:"trackingNumber"`
	ResultStatus   rawOnce `json:"resultStatus"`
	Device         rawOnce `json:"device"`
	Messages       rawOnce `json:"messages"`

	AltTrackingNumber rawOnce `json:"tracking_number"`
	AltStatus         rawOnce `json:"status"`
	AltMessage        rawOnce `json:"message"`
}

type m2mDocumentedDevice struct {
	Identifier     rawOnce `json:"identifier"`
	IdentifierType rawOnce `json:"identifierType"`
}

// decodeM2MDocumented reads a body in the documented shape: one object whose
// device is an object, each member named at most once, none of the other
// names. ok is false for anything else, which the tolerant reading then
// takes (or refuses); a body it accepts reads the same both ways.
func decodeM2MDocumented(data []byte) (M2MResult, bool) {
	var w m2mDocumented
	if err := json.Unmarshal(data, &w); err != nil {
		return M2MResult{}, false // not an object, or not valid JSON
	}
	if !w.TrackingNumber.once() || !w.Device.once() || w.ResultStatus.n > 1 || w.Messages.n > 1 ||
		w.AltTrackingNumber.n+w.AltStatus.n+w.AltMessage.n > 0 {
		return M2MResult{}, false
	}
	var d m2mDocumentedDevice
	if err := json.Unmarshal(w.Device.raw, &d); err != nil || !d.Identifier.once() || d.IdentifierType.n > 1 {
		return M2MResult{}, false
	}
	r := M2MResult{
		TrackingNumber: flexString(w.TrackingNumber.raw),
		ResultStatus:   flexString(w.ResultStatus.raw),
		Device: Device{
			Identifier:     flexString(d.Identifier.raw),
			IdentifierType: IdentifierType(strings.ToUpper(flexString(d.IdentifierType.raw))),
		},
		Messages: m2mMessages(w.Messages.raw),
	}
	if r.TrackingNumber == "" || r.Device.Identifier == "" {
		return M2MResult{}, false
	}
	return r, true
}

// m2mMessages reads a callback's messages as readable lines.
func m2mMessages(raw json.RawMessage) []string {
	if isNull(raw) || string(bytes.TrimSpace(raw)) == "[]" {
		return nil
	}
	list, _ := elements(raw)
	var out []string
	for _, v := range list {
		if s := capText(readableText(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// decodeM2MTolerant is DecodeM2MResult for any body: keys in any case,
// other names for members, a list holding the result, the device's
// identifiers at the top level.
func decodeM2MTolerant(data []byte) (M2MResult, error) {
	const what = "m2m callback"
	if err := checkCallback(what, data); err != nil {
		return M2MResult{}, err
	}
	items, _ := elements(data)
	if len(items) != 1 {
		return M2MResult{}, badCallback(what, "%d results, want exactly one", len(items))
	}
	m, ok := fields(items[0])
	if !ok {
		return M2MResult{}, badCallback(what, "want a JSON object")
	}
	r := M2MResult{
		TrackingNumber: flexString(fieldOrNil(m, "trackingNumber", "tracking_number")),
		ResultStatus:   flexString(fieldOrNil(m, "resultStatus", "status")),
	}
	device := m
	if d, ok := field(m, "device"); ok {
		if device, ok = fields(d); !ok {
			return M2MResult{}, badCallback(what, "device is not an object")
		}
	}
	r.Device = Device{
		Identifier:     flexString(fieldOrNil(device, "identifier")),
		IdentifierType: IdentifierType(strings.ToUpper(flexString(fieldOrNil(device, "identifierType")))),
	}
	if msgs, ok := field(m, "messages", "message"); ok {
		r.Messages = m2mMessages(msgs)
	}
	switch {
	case r.TrackingNumber == "":
		return M2MResult{}, badCallback(what, "no trackingNumber")
	case r.Device.Identifier == "":
		return M2MResult{}, badCallback(what, "no device identifier")
	}
	return r, nil
}

// FMU result kinds.
const (
	FMUKindStatus = "status" // the answer to a status read
	FMUKindChange = "change" // the answer to a status change
)

// FMUResult is the outcome of an asynchronous FMU request for one number.
type FMUResult struct {
	MSISDN string `json:"msisdn"`
	// Status is the profile read (for a status read).
	Status Profile `json:"status,omitempty"`
	// Success is the outcome of a change.
	Success bool `json:"success"`
	IsError bool `json:"isError"`
	// Message is EnCo's "error" or "message" text.
	Message string `json:"message,omitempty"`
	// Kind is FMUKindStatus or FMUKindChange.
	Kind string `json:"kind"`
}

// Failed reports whether the result is a failure: EnCo flagged an error, a
// change did not succeed, or a read brought back no known profile.
func (r FMUResult) Failed() bool {
	switch {
	case r.IsError:
		return true
	case r.Kind == FMUKindChange:
		return !r.Success
	}
	return !r.Status.Valid()
}

// DecodeFMUResults decodes the body of an FMU callback: one result object or
// a non-empty list of them, each naming its msisdn. A result with a
// "success" member is a change; any other is a status read.
func DecodeFMUResults(data []byte) ([]FMUResult, error) {
	const what = "fmu callback"
	if err := checkCallback(what, data); err != nil {
		return nil, err
	}
	items, _ := elements(data)
	if len(items) == 0 {
		return nil, badCallback(what, "no results")
	}
	out := make([]FMUResult, 0, len(items))
	for i, item := range items {
		m, ok := fields(item)
		if !ok {
			return nil, badCallback(what, "result %d is not an object", i)
		}
		r := FMUResult{
			MSISDN:  flexString(fieldOrNil(m, "msisdn")),
			Status:  normalizeProfile(flexString(fieldOrNil(m, "status", "profile"))),
			Message: capText(firstNonEmpty(readableText(fieldOrNil(m, "error")), readableText(fieldOrNil(m, "message")))),
			Kind:    FMUKindStatus,
		}
		if r.MSISDN == "" {
			return nil, badCallback(what, "result %d has no msisdn", i)
		}
		r.IsError, _ = flexBool(fieldOrNil(m, "isError"))
		if v, ok := field(m, "success"); ok {
			r.Kind = FMUKindChange
			r.Success, _ = flexBool(v)
		}
		out = append(out, r)
	}
	return out, nil
}

// DecodeCDR decodes the body of a voice call-out callback: one CDR object,
// or a page like GET /cdr's holding exactly one item. The CDR must name its
// session.
func DecodeCDR(data []byte) (CDR, error) {
	const what = "voice callback"
	if err := checkCallback(what, data); err != nil {
		return CDR{}, err
	}
	raw := json.RawMessage(data)
	if m, ok := fields(raw); ok {
		if _, hasID := field(m, "sessionId"); !hasID {
			if items, ok := field(m, "items"); ok {
				raw = items
			}
		}
	}
	items, _ := elements(raw)
	if len(items) != 1 {
		return CDR{}, badCallback(what, "%d CDRs, want exactly one", len(items))
	}
	var c CDR
	if err := json.Unmarshal(items[0], &c); err != nil {
		return CDR{}, badCallback(what, "%v", err)
	}
	if c.SessionID == "" {
		return CDR{}, badCallback(what, "no sessionId")
	}
	return c, nil
}
