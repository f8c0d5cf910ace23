package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FreezePeriod is how long a released number stays out of the pool.
const FreezePeriod = 15 * 24 * time.Hour

// Number is a FlexIO number in the sandbox's pool, with the attributes the
// number management API reports.
type Number struct {
	// Number is E.164 digits without "+" ("phonenumber").
	Number string
	// Type is "FIXED" or "MOBILE".
	Type         string
	SMSSupported bool
	// PriceTier is "REGULAR" or "PREMIUM".
	PriceTier string
	// Zone is the telephony zone ("02"); the API does not report it, but
	// filters and reservations use it.
	Zone string
}

// number is a FlexIO number the sandbox knows.
type number struct {
	Number
	held        bool
	frozenUntil time.Time
}

// available reports whether n can be reserved at now.
func (n *number) available(now time.Time) bool {
	return !n.held && !now.Before(n.frozenUntil)
}

// numberJSON is a number in the shape of the number management API, which
// does not report the zone.
func numberJSON(n Number) map[string]any {
	return map[string]any{
		"phonenumber":  n.Number,
		"type":         n.Type,
		"smsSupported": n.SMSSupported,
		"priceTier":    n.PriceTier,
	}
}

// AddNumber adds n to the pool of available numbers (or makes it available
// again).
func (s *Sandbox) AddNumber(n Number) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.numbers[n.Number] = &number{Number: n}
}

// AvailableNumbers returns the numbers that can be reserved now, in order.
func (s *Sandbox) AvailableNumbers() []Number {
	return s.listNumbers(func(n *number, now time.Time) bool { return n.available(now) })
}

// HeldNumbers returns the numbers the account holds, in order.
func (s *Sandbox) HeldNumbers() []Number {
	return s.listNumbers(func(n *number, _ time.Time) bool { return n.held })
}

// FrozenUntil reports when a released number returns to the pool; false if
// it is not frozen now.
func (s *Sandbox) FrozenUntil(phonenumber string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[phonenumber]
	if !ok || n.held || !s.now().Before(n.frozenUntil) {
		return time.Time{}, false
	}
	return n.frozenUntil, true
}

func (s *Sandbox) listNumbers(keep func(*number, time.Time) bool) []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []Number
	for _, k := range sortedKeys(s.numbers) {
		if n := s.numbers[k]; keep(n, now) {
			out = append(out, n.Number)
		}
	}
	return out
}

func writeNumbers(w http.ResponseWriter, list []Number) {
	items := make([]map[string]any, 0, len(list))
	for _, n := range list {
		items = append(items, numberJSON(n))
	}
	writeJSON(w, http.StatusOK, items)
}

// handleAvailable lists the pool, filtered by zone, type and priceTier.
func (s *Sandbox) handleAvailable(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	var out []Number
	for _, n := range s.AvailableNumbers() {
		if matches(n, q.Get("zone"), q.Get("type"), q.Get("priceTier")) {
			out = append(out, n)
		}
	}
	writeNumbers(w, out)
}

func matches(n Number, zone, typ, tier string) bool {
	return (zone == "" || n.Zone == zone) &&
		(typ == "" || strings.EqualFold(n.Type, typ)) &&
		(tier == "" || strings.EqualFold(n.PriceTier, tier))
}

// handleHeld lists the account's numbers.
func (s *Sandbox) handleHeld(w http.ResponseWriter, _ *http.Request, _ []byte) {
	writeNumbers(w, s.HeldNumbers())
}

// handleReserve reserves the available number matching the filter (the
// number itself, or a part of it) and the type, zone and tier given.
func (s *Sandbox) handleReserve(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.URL.Query().Get("addressInZoneConfirmed") != "true" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400,
			"message": "addressInZoneConfirmed=true is required: confirm a business or personal address in the number's zone"})
		return
	}
	var req struct {
		SupportsSMS bool   `json:"supportsSMS"`
		Type        string `json:"type"`
		Filter      string `json:"filter"`
		Zone        string `json:"zone"`
		PricingTier string `json:"pricingTier"`
	}
	if !decodeBody(w, body, &req, "message") {
		return
	}
	if req.Filter == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "filter is required"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if given, ok := s.reserveInstead[req.Filter]; ok {
		if n, ok := s.numbers[given]; ok && n.available(now) {
			n.held = true
			writeJSON(w, http.StatusCreated, numberJSON(n.Number))
			return
		}
	}
	if n, ok := s.numbers[req.Filter]; ok && !n.available(now) {
		msg := fmt.Sprintf("phone number %s is already held by your account", n.Number.Number)
		if !n.held {
			msg = fmt.Sprintf("phone number %s was released recently and is frozen until %s", n.Number.Number, n.frozenUntil.UTC().Format(time.RFC3339))
		}
		writeJSON(w, http.StatusConflict, map[string]any{"status": 409, "message": msg})
		return
	}
	for _, k := range sortedKeys(s.numbers) {
		n := s.numbers[k]
		if !n.available(now) || !strings.Contains(n.Number.Number, req.Filter) ||
			!matches(n.Number, req.Zone, req.Type, req.PricingTier) || (req.SupportsSMS && !n.SMSSupported) {
			continue
		}
		n.held = true
		writeJSON(w, http.StatusCreated, numberJSON(n.Number))
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"status": 404,
		"message": fmt.Sprintf("no available phone number matches filter %q with the type, zone and tier given", req.Filter)})
}

// handleRelease gives a held number back; it is frozen for FreezePeriod.
func (s *Sandbox) handleRelease(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[r.PathValue("number")]
	if !ok || !n.held {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": 404, "message": "phone number not held by your account"})
		return
	}
	n.held = false
	n.frozenUntil = s.now().Add(FreezePeriod)
	w.WriteHeader(http.StatusNoContent)
}
