package enco

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const m2mBase = "/m2m/1.0.0"

// IdentifierType says which identifier names a SIM card.
type IdentifierType string

// The identifier types the M2M API knows.
const (
	MSISDN IdentifierType = "MSISDN"
	ICCID  IdentifierType = "ICCID"
	IMSI   IdentifierType = "IMSI"
)

// Valid reports whether t is MSISDN, ICCID or IMSI.
func (t IdentifierType) Valid() bool {
	switch t {
	case MSISDN, ICCID, IMSI:
		return true
	}
	return false
}

// Device names one SIM card.
type Device struct {
	Identifier     string         `json:"identifier"`
	IdentifierType IdentifierType `json:"identifierType"`
}

// String reads "ICCID 8932...".
func (d Device) String() string {
	return string(d.IdentifierType) + " " + d.Identifier
}

func checkDevice(op string, d Device) error {
	if !d.IdentifierType.Valid() {
		return invalid(op, "identifier type %q, want MSISDN, ICCID or IMSI", d.IdentifierType)
	}
	return checkID(op, strings.ToLower(string(d.IdentifierType)), d.Identifier)
}

// SIMCard is what the M2M API knows about one SIM card.
type SIMCard struct {
	// State is the card's life-cycle state as EnCo spells it ("Ready",
	// "Active", "Deactivated", "Terminated", ...).
	State string
	// Device is the identifier EnCo uses for the card.
	Device     Device
	CostCenter string
	// DataPlan, SMSPlan and VoicePlan are plan codes.
	DataPlan  string
	SMSPlan   string
	VoicePlan string
	// CustomFields are the account's own labels ("Custom Field 1": ...).
	CustomFields map[string]string
}

// simCardReply is the documented shape of one card in GET /simcards.
type simCardReply struct {
	State        string
	Device       Device
	CostCenter   string
	CustomFields map[string]json.RawMessage
	DataService  struct{ Plan struct{ Code string } }
	SMSService   struct{ PlanCode string }
	VoiceService struct{ PlanCode string }
}

// SIMCards reads the SIM card named by d. An unknown card is an empty list.
func (c *Client) SIMCards(ctx context.Context, d Device) ([]SIMCard, error) {
	const op = "m2m simcards"
	if err := c.checkAPIKey(op); err != nil {
		return nil, err
	}
	if err := checkDevice(op, d); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	_, err := c.do(ctx, request{
		api: "m2m", op: op, method: http.MethodGet, path: m2mBase + "/simcards",
		query:  url.Values{strings.ToLower(string(d.IdentifierType)): {d.Identifier}},
		header: c.m2mHeader(), out: &raw,
	})
	if err != nil {
		return nil, err
	}
	items, _ := elements(raw)
	cards := make([]SIMCard, 0, len(items))
	for _, item := range items {
		var r simCardReply
		if err := json.Unmarshal(item, &r); err != nil {
			return nil, fmt.Errorf("%s: decode reply: %w", op, err)
		}
		card := SIMCard{
			State:      r.State,
			Device:     Device{Identifier: r.Device.Identifier, IdentifierType: IdentifierType(strings.ToUpper(string(r.Device.IdentifierType)))},
			CostCenter: r.CostCenter,
			DataPlan:   r.DataService.Plan.Code,
			SMSPlan:    r.SMSService.PlanCode,
			VoicePlan:  r.VoiceService.PlanCode,
		}
		if len(r.CustomFields) > 0 {
			card.CustomFields = make(map[string]string, len(r.CustomFields))
			for k, v := range r.CustomFields {
				card.CustomFields[k] = readableText(v)
			}
		}
		cards = append(cards, card)
	}
	return cards, nil
}

// M2MAction is an asynchronous SIM card request.
type M2MAction string

// The SIM card requests of the M2M API.
const (
	Activation   M2MAction = "activation"
	Deactivation M2MAction = "deactivation"
	Reactivation M2MAction = "reactivation"
	Termination  M2MAction = "termination"
)

// Valid reports whether a is one of the four actions.
func (a M2MAction) Valid() bool {
	switch a {
	case Activation, Deactivation, Reactivation, Termination:
		return true
	}
	return false
}

// RequestM2M asks EnCo to apply a to devices. EnCo answers with a tracking
// number at once and later posts one result per device to the configured
// callback URL, with header x-callback-token set to callbackToken.
func (c *Client) RequestM2M(ctx context.Context, a M2MAction, devices []Device, callbackToken string) (trackingNumber string, err error) {
	op := "m2m " + string(a)
	if !a.Valid() {
		return "", invalid("m2m request", "unknown action %q", a)
	}
	if err := c.checkAPIKey(op); err != nil {
		return "", err
	}
	if len(devices) == 0 {
		return "", invalid(op, "no devices")
	}
	for _, d := range devices {
		if err := checkDevice(op, d); err != nil {
			return "", err
		}
	}
	if strings.TrimSpace(callbackToken) == "" {
		return "", invalid(op, "empty callback token")
	}
	if strings.ContainsAny(callbackToken, "\r\n") {
		return "", invalid(op, "callback token contains a line break")
	}
	h := c.m2mHeader()
	h.Set("x-callback-token", callbackToken)
	var raw json.RawMessage
	resp, err := c.do(ctx, request{
		api: "m2m", op: op, method: http.MethodPost, path: m2mBase + "/requests/" + string(a),
		header: h, body: devices, out: &raw,
	})
	if err != nil {
		return "", err
	}
	if m, ok := fields(raw); ok {
		trackingNumber = flexString(fieldOrNil(m, "TrackingNumber"))
	}
	if trackingNumber == "" {
		return "", &Error{Op: op, StatusCode: resp.status, Message: "reply has no tracking number"}
	}
	return trackingNumber, nil
}

// ConfigureM2MCallback sets the URL EnCo posts M2M results to, with headers
// it adds to every callback. EnCo only lets Authorization and headers
// starting with "x-" through; any other header is refused before the call.
func (c *Client) ConfigureM2MCallback(ctx context.Context, callbackURL string, headers map[string]string) error {
	const op = "m2m configure callback"
	if err := c.checkAPIKey(op); err != nil {
		return err
	}
	if err := checkURL(op, callbackURL); err != nil {
		return err
	}
	for k, v := range headers {
		if !AllowedCallbackHeader(k) {
			return invalid(op, "header %q is not allowed (only Authorization and x-*)", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return invalid(op, "header %q has a line break in its value", k)
		}
	}
	body := struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers,omitempty"`
	}{callbackURL, headers}
	_, err := c.do(ctx, request{
		api: "m2m", op: op, method: http.MethodPost, path: m2mBase + "/configure/callback",
		header: c.m2mHeader(), body: body,
	})
	return err
}

// AllowedCallbackHeader reports whether EnCo lets name through as an M2M
// callback header: Authorization, or a name starting with "x-" (any case).
func AllowedCallbackHeader(name string) bool {
	if strings.EqualFold(name, "Authorization") {
		return true
	}
	if len(name) < 3 || !strings.EqualFold(name[:2], "x-") {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || r == ':' {
			return false
		}
	}
	return true
}

func (c *Client) checkAPIKey(op string) error {
	if c.APIKey == "" {
		return invalid(op, "no M2M API key configured")
	}
	return nil
}

func (c *Client) m2mHeader() http.Header {
	h := make(http.Header)
	h.Set("x-api-key", c.APIKey)
	return h
}
