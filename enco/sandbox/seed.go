package sandbox

import (
	"fmt"
	"time"
)

// seed loads the demo data described in the package documentation.
func (s *Sandbox) seed() {
	states := []string{
		StateActive, StateActive, StateDeactivated, StateReady, StateActive, StateDeactivated,
		StateReady, StateActive, StateTerminated, StateActive, StateReady, StateDeactivated,
	}
	costCenters := []string{"Fleet", "Metering", "Logistics", "Facilities"}
	sites := []string{"Antwerp depot", "Ghent plant", "Brussels HQ", "Liège yard"}
	for i, state := range states {
		n := i + 1
		iccid := fmt.Sprintf("893201%013d", n)
		if n > 6 {
			iccid = fmt.Sprintf("8932010%013d", n)
		}
		voice := ""
		if n%3 == 0 {
			voice = "M2M-VOICE-BASIC"
		}
		s.sims = append(s.sims, &SIM{
			MSISDN:             fmt.Sprintf("32471%06d", n),
			ICCID:              iccid,
			IMSI:               fmt.Sprintf("206010%09d", n),
			State:              state,
			CostCenter:         costCenters[i%len(costCenters)],
			DataPlan:           []string{"M2M-DATA-100MB", "M2M-DATA-1GB"}[i%2],
			SMSPlan:            "M2M-SMS-50",
			VoicePlan:          voice,
			APN:                "m2m.proximus.be",
			DataDailyThreshold: 50, DataMonthlyThreshold: 1000,
			CustomFields: map[string]string{
				"Custom Field 1": fmt.Sprintf("asset-%02d", n),
				"Custom Field 2": sites[i%len(sites)],
			},
		})
	}

	s.fmu = map[string]string{}
	profiles := []string{
		ProfilePrivate, ProfileProfessional, ProfileOnDuty, ProfilePrivate, ProfileProfessional,
		ProfileProfessional, ProfileOnDuty, ProfilePrivate, ProfileProfessional, ProfilePrivate,
	}
	for i, p := range profiles {
		s.fmu[fmt.Sprintf("324700000%02d", i+1)] = p
	}

	s.numbers = map[string]*number{}
	add := func(zone, typ, tier string, sms bool, nums ...string) {
		for _, n := range nums {
			s.numbers[n] = &number{Number: Number{Number: n, Type: typ, SMSSupported: sms, PriceTier: tier, Zone: zone}}
		}
	}
	add("02", "FIXED", "REGULAR", false, "3222060742", "3222060744", "3222060745", "3222060746", "3222060747")
	add("02", "FIXED", "PREMIUM", false, "3222222222")
	add("03", "FIXED", "REGULAR", false, "3232010001", "3232010002", "3232010003", "3232010004")
	add("03", "FIXED", "PREMIUM", false, "3233333333")
	add("09", "FIXED", "REGULAR", false, "3292010001", "3292010002", "3292010003")
	add("09", "FIXED", "PREMIUM", false, "3299999999")
	add("", "MOBILE", "REGULAR", true, "32460000101", "32460000102", "32460000103", "32460000104")
	add("", "MOBILE", "PREMIUM", true, "32466666666")
	add("02", "FIXED", "REGULAR", false, "3228160257")
	s.numbers["3228160257"].held = true

	start := s.now().UTC().Truncate(time.Second)
	s.cdrs = []CDR{
		{SessionID: "61146645", Origin: "3228160257", Destination: "32468373908", Presentation: "allowed",
			RequestTime: start.Add(-3 * time.Hour), CallOneSetup: start.Add(-3 * time.Hour), CallOneRelease: start.Add(-3 * time.Hour),
			CallReleaseInfo: "Leg1-404-NotFound received"},
		{SessionID: "61168475", Origin: "3228160257", Destination: "32468373900", Presentation: "allowed",
			RequestTime: start.Add(-2 * time.Hour), CallOneSetup: start.Add(-2*time.Hour + 2*time.Second), CallOneRelease: start.Add(-2*time.Hour + 10*time.Second),
			CallReleaseInfo: "Leg2-486-Busy Here"},
		{SessionID: "61170001", Origin: "3228160257", Destination: "32468373901", Presentation: "restricted",
			RequestTime: start.Add(-time.Hour), CallOneSetup: start.Add(-time.Hour + 2*time.Second), CallOneRelease: start.Add(-time.Hour + 107*time.Second),
			CallDuration: 95, CallReleaseInfo: "Normal Clearing"},
	}
}
