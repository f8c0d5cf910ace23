package enco

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-bot/switchboard"
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

// Target returns the device as an operation keeps it: "iccid:8932...".
func (d Device) Target() switchboard.Target {
	return switchboard.Target{Type: switchboard.TargetType(strings.ToLower(string(d.IdentifierType))), ID: d.Identifier}
}

// TargetDevice returns the device an operation's target names; a target of
// bare digits is a phone number.
func TargetDevice(t switchboard.Target) Device {
	if t.Type == "" {
		return Device{Identifier: t.ID, IdentifierType: MSISDN}
	}
	return Device{Identifier: t.ID, IdentifierType: IdentifierType(strings.ToUpper(string(t.Type)))}
}

func checkDevice(op string, d Device) error {
	if !d.IdentifierType.Valid() {
		return invalid(op, "identifier type %q, want MSISDN, ICCID or IMSI", d.IdentifierType)
	}
	return checkID(op, strings.ToLower(string(d.IdentifierType)), d.Identifier)
}

// SIMCard is what GET /simcards tells about one SIM card: every field of
// the documented answer.
type SIMCard struct {
	// State is the card's life-cycle state as EnCo spells it ("Ready",
	// "Active", "Deactivated", "Terminated", ...).
	State string
	// Device is the identifier EnCo uses for the card (often its IMSI or
	// ICCID, whatever the card was looked up by).
	Device     Device
	CostCenter string
	// Data, SMS and Voice are the card's services; a service without a
	// plan has an empty PlanCode.
	Data  Service
	SMS   Service
	Voice Service
	// AccessPoints are the card's APNs.
	AccessPoints []AccessPoint
	// CustomFields are the account's own labels ("Custom Field 1": ...),
	// empty ones included.
	CustomFields map[string]string
}

// Service is a data, SMS or voice service of a SIM card.
type Service struct {
	PlanCode string
	// PlanDescription and ServiceType are documented for the data plan
	// only.
	PlanDescription string
	ServiceType     string
	ServiceAreas    []ServiceArea
	// Features are the feature codes, with Enabled set as EnCo says (the
	// SMS and voice services list codes only, which count as enabled).
	Features []Feature
	// DailyThreshold and MonthlyThreshold are as EnCo sends them
	// ("DailyTreshold", "MonthlyTreshold"); 0 when unset.
	DailyThreshold   float64
	MonthlyThreshold float64
}

// ServiceArea is where a service works ("BE", "Belgium").
type ServiceArea struct{ Code, Description string }

// Feature is a feature code of a service.
type Feature struct {
	Code    string
	Enabled bool
}

// AccessPoint is an APN of a SIM card and its properties.
type AccessPoint struct {
	Code       string
	StaticIP   string
	UserName   string
	CustomName string
}

// simCardReply is the documented shape of one card in GET /simcards
// (m2m-sim-api, "Read SIM card details"), spelling mistakes included.
type simCardReply struct {
	AccessPoints []struct {
		Code       string
		Properties struct{ StaticIP, UserName, CustomName string }
	}
	CustomFields map[string]json.RawMessage
	DataService  struct {
		Plan            struct{ Code, Description, ServiceType string }
		ServiceAreas    []ServiceArea
		Features        []Feature
		DailyTreshold   json.Number
		MonthlyTreshold json.Number
	}
	SMSService   serviceReply
	VoiceService serviceReply
	CostCenter   string
	State        string
	Device       Device
}

// serviceReply is the documented shape of SMSService and VoiceService.
type serviceReply struct {
	PlanCode        string
	ServiceAreas    []ServiceArea
	FeatureCodes    []string
	DailyTreshold   json.Number
	MonthlyTreshold json.Number
}

func (s serviceReply) service() Service {
	out := Service{PlanCode: s.PlanCode, ServiceAreas: s.ServiceAreas, DailyThreshold: number(s.DailyTreshold), MonthlyThreshold: number(s.MonthlyTreshold)}
	for _, c := range s.FeatureCodes {
		out.Features = append(out.Features, Feature{Code: c, Enabled: true})
	}
	return out
}

func number(n json.Number) float64 {
	f, _ := n.Float64()
	return f
}

func (r simCardReply) card() SIMCard {
	card := SIMCard{
		State:      r.State,
		Device:     Device{Identifier: r.Device.Identifier, IdentifierType: IdentifierType(strings.ToUpper(string(r.Device.IdentifierType)))},
		CostCenter: r.CostCenter,
		Data: Service{
			PlanCode: r.DataService.Plan.Code, PlanDescription: r.DataService.Plan.Description, ServiceType: r.DataService.Plan.ServiceType,
			ServiceAreas: r.DataService.ServiceAreas, Features: r.DataService.Features,
			DailyThreshold: number(r.DataService.DailyTreshold), MonthlyThreshold: number(r.DataService.MonthlyTreshold),
		},
		SMS:   r.SMSService.service(),
		Voice: r.VoiceService.service(),
	}
	for _, ap := range r.AccessPoints {
		card.AccessPoints = append(card.AccessPoints, AccessPoint{Code: ap.Code, StaticIP: ap.Properties.StaticIP, UserName: ap.Properties.UserName, CustomName: ap.Properties.CustomName})
	}
	if len(r.CustomFields) > 0 {
		card.CustomFields = make(map[string]string, len(r.CustomFields))
		for k, v := range r.CustomFields {
			card.CustomFields[k] = readableText(v)
		}
	}
	return card
}

// SIMCards reads the SIM card with this MSISDN (E.164 digits without "+").
// The M2M API documents lookups by MSISDN only, so no other identifier is
// offered. An unknown card is an empty list.
func (c *Client) SIMCards(ctx context.Context, msisdn string) ([]SIMCard, error) {
	const op = "m2m simcards"
	if err := c.checkAPIKey(op); err != nil {
		return nil, err
	}
	if err := checkDigits(op, msisdn); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	_, err := c.do(ctx, request{
		api: APIM2M, op: op, method: http.MethodGet, path: m2mBase + "/simcards",
		query:  url.Values{"msisdn": {msisdn}},
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
		cards = append(cards, r.card())
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
		api: APIM2M, op: op, method: http.MethodPost, path: m2mBase + "/requests/" + string(a),
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
		api: APIM2M, op: op, method: http.MethodPost, path: m2mBase + "/configure/callback",
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
