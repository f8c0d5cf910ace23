package sandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// Identifier types of the M2M API.
const (
	idMSISDN = "MSISDN"
	idICCID  = "ICCID"
	idIMSI   = "IMSI"
)

// device is a SIM card named in a request or a callback.
type device struct {
	Identifier     string `json:"identifier"`
	IdentifierType string `json:"identifierType"`
}

// m2mActions are the documented request types, under /requests/.
var m2mActions = map[string]bool{"activation": true, "deactivation": true, "reactivation": true, "termination": true}

// SIM card states, spelled as M2M Cockpit does.
const (
	StateReady       = "Ready"
	StateActive      = "Active"
	StateDeactivated = "Deactivated"
	StateTerminated  = "Terminated"
)

// SIM is an M2M SIM card in the sandbox.
type SIM struct {
	MSISDN, ICCID, IMSI string
	State               string
	CostCenter          string
	DataPlan            string
	SMSPlan             string
	VoicePlan           string
	// DataDailyThreshold and DataMonthlyThreshold are the data service's
	// thresholds ("DailyTreshold", "MonthlyTreshold" in the answer).
	DataDailyThreshold, DataMonthlyThreshold float64
	// SMS… and Voice… are the thresholds of the SMS and voice services.
	SMSDailyThreshold, SMSMonthlyThreshold     float64
	VoiceDailyThreshold, VoiceMonthlyThreshold float64
	// APN is the card's access point ("AccessPoints"[0].Code).
	APN          string
	CustomFields map[string]string
	// Refuse, when set, fails every change of the card with this message
	// (EnCo's messages are free text: a test can give one a person or a
	// spreadsheet must not take for anything else).
	Refuse string
}

func (c *SIM) clone() SIM {
	out := *c
	out.CustomFields = maps.Clone(c.CustomFields)
	return out
}

// identifier returns the card's identifier of type t.
func (c *SIM) identifier(t string) string {
	switch strings.ToUpper(t) {
	case idMSISDN:
		return c.MSISDN
	case idICCID:
		return c.ICCID
	case idIMSI:
		return c.IMSI
	}
	return ""
}

// AddSIM adds a card, or replaces the one with the same ICCID.
func (s *Sandbox) AddSIM(c SIM) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := c.clone()
	for i, old := range s.sims {
		if old.ICCID == c.ICCID {
			s.sims[i] = &stored
			return
		}
	}
	s.sims = append(s.sims, &stored)
}

// SIM returns the card with this MSISDN, ICCID or IMSI.
func (s *Sandbox) SIM(identifier string) (SIM, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.sims {
		if c.MSISDN == identifier || c.ICCID == identifier || c.IMSI == identifier {
			return c.clone(), true
		}
	}
	return SIM{}, false
}

// SIMs returns every card, in the order they were added.
func (s *Sandbox) SIMs() []SIM {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SIM, 0, len(s.sims))
	for _, c := range s.sims {
		out = append(out, c.clone())
	}
	return out
}

// findSIM returns the card named by d; s.mu must be held.
func (s *Sandbox) findSIM(d device) *SIM {
	for _, c := range s.sims {
		if id := c.identifier(d.IdentifierType); id != "" && id == d.Identifier {
			return c
		}
	}
	return nil
}

// M2MCallback returns the callback URL and headers set with
// /configure/callback.
func (s *Sandbox) M2MCallback() (url string, headers map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m2mCallbackURL, maps.Clone(s.m2mHeaders)
}

// handleSIMCards reads one card by msisdn, the only lookup the M2M API
// documents; an unknown card is an empty list.
func (s *Sandbox) handleSIMCards(w http.ResponseWriter, r *http.Request, _ []byte) {
	msisdn := r.URL.Query().Get("msisdn")
	if msisdn == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "msisdn is required"})
		return
	}
	d := device{Identifier: msisdn, IdentifierType: idMSISDN}
	s.mu.Lock()
	defer s.mu.Unlock()
	cards := []any{}
	if c := s.findSIM(d); c != nil {
		cards = append(cards, simJSON(c))
	}
	writeJSON(w, http.StatusOK, cards)
}

// simJSON is a card in the shape of the M2M API's sample answer.
func simJSON(c *SIM) map[string]any {
	areas := []map[string]string{{"Code": "BE", "Description": "Belgium"}, {"Code": "EU", "Description": "European Union"}}
	custom := map[string]string{}
	for i := 1; i <= 7; i++ {
		k := fmt.Sprintf("Custom Field %d", i)
		custom[k] = c.CustomFields[k]
	}
	aps := []map[string]any{}
	if c.APN != "" {
		aps = append(aps, map[string]any{
			"Code":       c.APN,
			"Properties": map[string]string{"StaticIP": "", "UserName": "", "CustomName": ""},
		})
	}
	return map[string]any{
		"AccessPoints": aps,
		"CustomFields": custom,
		"DataService": map[string]any{
			"Plan":            map[string]string{"Code": c.DataPlan, "Description": "Data plan " + c.DataPlan, "ServiceType": "DATA"},
			"ServiceAreas":    areas,
			"Features":        []map[string]any{{"Code": "ROAMING", "Enabled": false}},
			"DailyTreshold":   c.DataDailyThreshold,
			"MonthlyTreshold": c.DataMonthlyThreshold,
		},
		"SMSService": map[string]any{
			"PlanCode": c.SMSPlan, "ServiceAreas": areas, "FeatureCodes": []string{},
			"DailyTreshold": c.SMSDailyThreshold, "MonthlyTreshold": c.SMSMonthlyThreshold,
		},
		"VoiceService": map[string]any{
			"PlanCode": c.VoicePlan, "ServiceAreas": areas, "FeatureCodes": []string{},
			"DailyTreshold": c.VoiceDailyThreshold, "MonthlyTreshold": c.VoiceMonthlyThreshold,
		},
		"CostCenter": c.CostCenter,
		"State":      c.State,
		"Device":     map[string]string{"Identifier": c.ICCID, "IdentifierType": idICCID},
	}
}

// handleM2MConfigure sets the callback URL and headers, with EnCo's
// whitelist: Authorization and x-* only.
func (s *Sandbox) handleM2MConfigure(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	if !decodeBody(w, body, &req, "message") {
		return
	}
	if !absoluteURL(req.URL) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "url must be an absolute http(s) URL"})
		return
	}
	for k := range req.Headers {
		if !allowedCallbackHeader(k) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("header %q is not allowed: only Authorization and x-* headers", k)})
			return
		}
	}
	s.mu.Lock()
	s.m2mCallbackURL, s.m2mHeaders = req.URL, maps.Clone(req.Headers)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// handleM2MRequest applies an action to devices and posts one callback per
// device.
func (s *Sandbox) handleM2MRequest(w http.ResponseWriter, r *http.Request, body []byte) {
	action := r.PathValue("action")
	if !m2mActions[action] {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("unknown request type %q", action)})
		return
	}
	token := r.Header.Get("x-callback-token")
	if token == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "the x-callback-token header is required"})
		return
	}
	var devices []device
	if err := json.Unmarshal(body, &devices); err != nil || len(devices) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "the body must be a non-empty array of {identifier, identifierType}"})
		return
	}
	for _, d := range devices {
		if d.Identifier == "" || (d.IdentifierType != idMSISDN && d.IdentifierType != idICCID && d.IdentifierType != idIMSI) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": fmt.Sprintf("invalid device %q of type %q", d.Identifier, d.IdentifierType)})
			return
		}
	}

	s.mu.Lock()
	tracking := fmt.Sprintf("717ccaa0-%04x-4000-8000-%012x", s.nextSeq()&0xffff, s.seq)
	header := make(http.Header)
	for k, v := range s.m2mHeaders {
		header.Set(k, v)
	}
	header.Set("x-callback-token", token)
	target := s.m2mCallbackURL
	out := make([]outgoing, 0, len(devices))
	for _, d := range devices {
		result := map[string]any{"trackingNumber": tracking, "messages": []string{}}
		c := s.findSIM(d)
		switch {
		case c == nil:
			result["device"] = map[string]string{"identifier": d.Identifier, "identifierType": d.IdentifierType}
			result["resultStatus"] = "Failed"
			result["messages"] = []string{"SIM card not found"}
		default:
			result["device"] = map[string]string{"identifier": c.ICCID, "identifierType": idICCID}
			if c.Refuse != "" {
				result["resultStatus"] = "Failed"
				result["messages"] = []string{c.Refuse}
			} else if next, err := transition(action, c.State); err != nil {
				result["resultStatus"] = "Failed"
				result["messages"] = []string{err.Error()}
			} else {
				c.State = next
				result["resultStatus"] = "Success"
			}
		}
		out = append(out, newOutgoing("m2m", target, header, result))
	}
	s.mu.Unlock()

	s.answer(w, http.StatusAccepted, map[string]string{"TrackingNumber": tracking}, out)
}

// transition is the state a card in state from reaches through a.
func transition(a, from string) (string, error) {
	switch {
	case a == "activation" && from == StateReady:
		return StateActive, nil
	case a == "deactivation" && from == StateActive:
		return StateDeactivated, nil
	case a == "reactivation" && from == StateDeactivated:
		return StateActive, nil
	case a == "termination" && from != StateTerminated:
		return StateTerminated, nil
	}
	return "", fmt.Errorf("%s is not possible for a SIM card in state %s", a, from)
}

// allowedCallbackHeader is EnCo's whitelist for callback headers: only
// Authorization and headers whose name starts with "x-".
func allowedCallbackHeader(name string) bool {
	if strings.EqualFold(name, "Authorization") {
		return true
	}
	return len(name) > 2 && strings.EqualFold(name[:2], "x-") && !strings.ContainsAny(name, " \t\r\n:")
}
