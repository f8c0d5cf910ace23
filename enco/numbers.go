package enco

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const numbersBase = "/cpaas-mgmt/1.0.0"

// PhoneNumber is a FlexIO number, available in the pool or held by the
// account.
type PhoneNumber struct {
	// Number is E.164 digits without "+".
	Number string `json:"phonenumber"`
	// Type is "FIXED" or "MOBILE".
	Type         string `json:"type"`
	SMSSupported bool   `json:"smsSupported"`
	// PriceTier is "REGULAR" or "PREMIUM".
	PriceTier string `json:"priceTier"`
	// Zone is the telephony zone ("02", "03", ...) when EnCo says it.
	Zone string `json:"zone,omitempty"`
}

// NumberFilter narrows a search of available numbers; empty fields match
// everything.
type NumberFilter struct {
	Zone, Type, PriceTier string
}

// AvailableNumbers lists the pool's numbers matching f.
func (c *Client) AvailableNumbers(ctx context.Context, f NumberFilter) ([]PhoneNumber, error) {
	v := url.Values{}
	for k, val := range map[string]string{"zone": f.Zone, "type": f.Type, "priceTier": f.PriceTier} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return c.listNumbers(ctx, "numbers available", "/phonenumbers/available", v)
}

// HeldNumbers lists the numbers the account holds.
func (c *Client) HeldNumbers(ctx context.Context) ([]PhoneNumber, error) {
	return c.listNumbers(ctx, "numbers held", "/phonenumbers", nil)
}

func (c *Client) listNumbers(ctx context.Context, op, path string, q url.Values) ([]PhoneNumber, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, request{api: APINumbers, op: op, method: http.MethodGet, path: numbersBase + path, query: q, out: &raw}); err != nil {
		return nil, err
	}
	return decodeNumbers(op, raw)
}

// decodeNumbers reads a list of numbers, a single one, or a list wrapped in
// an object's "items" or "phonenumbers" member.
func decodeNumbers(op string, raw json.RawMessage) ([]PhoneNumber, error) {
	if m, ok := fields(raw); ok {
		if inner, ok := field(m, "items", "phonenumbers", "content"); ok {
			raw = inner
		}
	}
	items, _ := elements(raw)
	out := make([]PhoneNumber, 0, len(items))
	for _, item := range items {
		m, ok := fields(item)
		if !ok {
			return nil, fmt.Errorf("%s: decode reply: want objects, got %.20s", op, item)
		}
		n := PhoneNumber{
			Number:    flexString(fieldOrNil(m, "phonenumber", "phoneNumber", "number")),
			Type:      strings.ToUpper(flexString(fieldOrNil(m, "type"))),
			PriceTier: strings.ToUpper(flexString(fieldOrNil(m, "priceTier", "pricingTier"))),
			Zone:      flexString(fieldOrNil(m, "zone")),
		}
		n.SMSSupported, _ = flexBool(fieldOrNil(m, "smsSupported", "supportsSMS"))
		if n.Number == "" {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// ReserveRequest asks for one number from the pool, in the documented body
// of POST /phonenumbers.
type ReserveRequest struct {
	// Number is the wanted number, or a part of it (sent as "filter").
	Number string
	// Type is "FIXED" or "MOBILE".
	Type string
	// Zone is the telephony zone ("02"); empty for a mobile number.
	Zone string
	// PricingTier is "REGULAR" or "PREMIUM".
	PricingTier string
	SupportsSMS bool
}

// ReserveNumber reserves a number for the account, confirming that the
// account has an address in the number's zone as Belgian law requires. The
// number is billed monthly until released. When EnCo answers with an empty
// body, the result is the number as asked.
func (c *Client) ReserveNumber(ctx context.Context, r ReserveRequest) (PhoneNumber, error) {
	const op = "numbers reserve"
	if err := checkDigits(op, r.Number); err != nil {
		return PhoneNumber{}, err
	}
	// The documented body, every field present (a mobile number's zone is
	// empty).
	body := struct {
		SupportsSMS bool   `json:"supportsSMS"`
		Type        string `json:"type"`
		Filter      string `json:"filter"`
		Zone        string `json:"zone"`
		PricingTier string `json:"pricingTier"`
	}{r.SupportsSMS, r.Type, r.Number, r.Zone, r.PricingTier}
	var raw json.RawMessage
	_, err := c.do(ctx, request{
		api: APINumbers, op: op, method: http.MethodPost, path: numbersBase + "/phonenumbers",
		query: url.Values{"addressInZoneConfirmed": {"true"}}, body: body, out: &raw,
	})
	if err != nil {
		return PhoneNumber{}, err
	}
	asked := PhoneNumber{Number: r.Number, Type: r.Type, SMSSupported: r.SupportsSMS, PriceTier: r.PricingTier, Zone: r.Zone}
	got, err := decodeNumbers(op, raw)
	if err != nil || len(got) == 0 {
		return asked, nil
	}
	n := got[0]
	if n.Zone == "" {
		n.Zone = r.Zone
	}
	return n, nil
}

// ReleaseNumber gives a held number back to the pool. EnCo freezes it for
// 15 days: nobody, the account included, can reserve it meanwhile.
func (c *Client) ReleaseNumber(ctx context.Context, number string) error {
	const op = "numbers release"
	if err := checkDigits(op, number); err != nil {
		return err
	}
	_, err := c.do(ctx, request{
		api: APINumbers, op: op, method: http.MethodDelete,
		path: numbersBase + "/phonenumbers/" + url.PathEscape(number),
	})
	return err
}

// checkDigits refuses a number that is not E.164 digits without "+".
func checkDigits(op, n string) error {
	ok := len(n) >= 8 && len(n) <= 15 && n[0] != '0'
	for _, r := range n {
		ok = ok && r >= '0' && r <= '9'
	}
	if !ok {
		return invalid(op, "number %q is not E.164 digits without +", n)
	}
	return nil
}
