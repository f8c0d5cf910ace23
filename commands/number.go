package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// numberCommand answers /number: the pool, one's numbers, reserving and releasing.
type numberCommand struct {
	gate    *gate
	confirm *confirmer
	ops     *operator
	lists   *lister
	numbers NumbersAPI
	freezes NumberFreezes
	// operations records the number EnCo reserved when it is not the one
	// asked for.
	operations Operations
	limits
	log *slog.Logger
}

// NumberFreezes remembers the numbers released lately, which EnCo keeps
// from being reserved again for a while.
type NumberFreezes interface {
	FreezeNumber(ctx context.Context, number string, until time.Time) error
	NumberFrozenUntil(ctx context.Context, number string) (time.Time, bool, error)
}

// NumbersAPI is the FlexIO number-management part of the EnCo client.
type NumbersAPI interface {
	AvailableNumbers(ctx context.Context, f enco.NumberFilter) ([]enco.PhoneNumber, error)
	HeldNumbers(ctx context.Context) ([]enco.PhoneNumber, error)
	ReserveNumber(ctx context.Context, r enco.ReserveRequest) (enco.PhoneNumber, error)
	ReleaseNumber(ctx context.Context, number string) error
}

const numberUsage = "*Usage*\n" +
	"`/number available [zone=02] [type=fixed|mobile] [tier=regular|premium]` — numbers you can reserve\n" +
	"`/number list` — the numbers the account holds\n" +
	"`/number reserve &lt;number&gt; [zone=02] [type=fixed|mobile] [tier=regular|premium] [sms=yes|no]` — reserve one, after you confirm: it is billed monthly until released (`number.reserve`); type, tier and SMS come from EnCo's list of available numbers when the number is in it\n" +
	"`/number release &lt;number&gt;` — give one back, after you confirm: it is frozen for 15 days (`number.release`)\n" +
	"Example: `/number available zone=02 type=fixed` · `/number reserve 02 206 07 42`"

// maxNumberLines is how many numbers one list shows.
const maxNumberLines = 40

// freezePeriod is how long EnCo keeps a released number out of the pool.
const freezePeriod = 15 * 24 * time.Hour

// answer reads /number: available, list, reserve or release.
func (nc *numberCommand) answer(ctx context.Context, c *command) (Reply, func(context.Context)) {
	if len(c.toks) == 0 {
		return textReply(numberUsage), nil
	}
	sub := strings.ToLower(c.toks[0].text)
	args := c.toks[1:]
	switch sub {
	case "available":
		return nc.numberAvailable(ctx, c, args)
	case "list":
		return nc.numberList(ctx, c, args)
	case "reserve", "release":
		return nc.numberChange(ctx, c, sub, args)
	}
	return usageReply(usageErr(numberUsage, "`%s` is not a /number subcommand. Use `available`, `list`, `reserve` or `release`.", c.toks[0].text)), nil
}

// numberFilter reads the options of /number available.
func numberFilter(args []token) (enco.NumberFilter, *UsageError) {
	var f enco.NumberFilter
	pos, opts, err := options(numberUsage, args, "zone", "type", "tier")
	if err != nil {
		return f, err
	}
	if len(pos) > 0 {
		return f, usageErr(numberUsage, "`%s`: `/number available` takes only `zone=`, `type=` and `tier=`, e.g. `/number available zone=02 type=fixed`.", pos[0].text)
	}
	if v, ok := opts["zone"]; ok {
		z, uerr := parseZone(v)
		if uerr != nil {
			return f, uerr
		}
		f.Zone = z
	}
	switch v := strings.ToLower(opts["type"]); v {
	case "":
	case "fixed", "mobile":
		f.Type = strings.ToUpper(v)
	default:
		return f, usageErr(numberUsage, "`type=%s`: the type is `fixed` or `mobile`.", opts["type"])
	}
	switch v := strings.ToLower(opts["tier"]); v {
	case "":
	case "regular", "premium":
		f.PriceTier = strings.ToUpper(v)
	default:
		return f, usageErr(numberUsage, "`tier=%s`: the price tier is `regular` or `premium`.", opts["tier"])
	}
	if f.Zone != "" && f.Type == "MOBILE" {
		return f, usageErr(numberUsage, "`zone=` and `type=mobile` don't go together: mobile numbers have no zone.")
	}
	return f, nil
}

// parseZone reads a Belgian telephone zone ("02", "2", "050") as EnCo writes it, with its 0.
// Only the area codes of Belgian fixed numbers are zones.
func parseZone(v string) (string, *UsageError) {
	z := strings.TrimPrefix(v, "0")
	if z == "" || len(z) > 2 || strings.Trim(z, "0123456789") != "" || z[0] == '0' {
		return "", usageErr(numberUsage, "`zone=%s` is not a telephone zone: write it like `zone=02` (Brussels) or `zone=09` (Ghent).", v)
	}
	if !isAreaCode(z) {
		return "", usageErr(numberUsage, "`zone=%s`: Belgium has no telephone zone 0%s. A zone is the area code of fixed numbers, like `zone=02` (Brussels), `zone=03` (Antwerp) or `zone=050` (Bruges).", v, z)
	}
	return "0" + z, nil
}

// areaCodeFills complete an area code to the eight digits of a Belgian
// fixed number; each code has valid numbers among them.
var areaCodeFills = []string{"0000000", "1111111", "2222222", "3333333", "4444444", "5555555", "6666666", "7777777", "8888888", "9999999", "1234567", "2345678"}

// isAreaCode reports whether libphonenumber knows z ("2", "50", without
// its 0) as the area code of Belgian fixed-line numbers.
func isAreaCode(z string) bool {
	for _, fill := range areaCodeFills {
		num, err := phonenumbers.Parse("+32"+(z + fill)[:8], phone.DefaultRegion)
		if err == nil && phonenumbers.IsValidNumber(num) &&
			phonenumbers.GetNumberType(num) == phonenumbers.FIXED_LINE &&
			phonenumbers.GetLengthOfGeographicalAreaCode(num) == len(z) {
			return true
		}
	}
	return false
}

func (nc *numberCommand) numberAvailable(ctx context.Context, c *command, args []token) (Reply, func(context.Context)) {
	f, uerr := numberFilter(args)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	if reply, ok := nc.gate.allow(ctx, c, switchboard.PermNumberRead); !ok {
		return reply, nil
	}
	return textReply(":mag: Looking up available numbers…"), func(ctx context.Context) {
		list, err := nc.numbers.AvailableNumbers(ctx, f)
		nc.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermNumberRead, Decision: apiDecision(err), Detail: fmt.Sprintf("%d available numbers listed", len(list))})
		var text string
		var send func(context.Context)
		switch {
		case err != nil:
			text = ":x: " + nc.ops.userError(err, "numbers available")
		case len(list) == 0:
			text = fmt.Sprintf("No numbers available%s. Try without some of the options.", filterWords(f))
		default:
			var lines string
			lines, send = nc.numberLines(c, list, "numbers-available", "Available numbers"+filterWords(f))
			text = fmt.Sprintf("*%s available%s* — reserve one with `/number reserve &lt;number&gt;`\n%s", plural(len(list), "number"), filterWords(f), lines)
		}
		nc.ops.respond(ctx, c.ResponseURL, textReply(text).Message(), false)
		if send != nil {
			send(ctx)
		}
	}
}

func filterWords(f enco.NumberFilter) string {
	var parts []string
	if f.Zone != "" {
		parts = append(parts, "zone "+f.Zone)
	}
	if f.Type != "" {
		parts = append(parts, strings.ToLower(f.Type))
	}
	if f.PriceTier != "" {
		parts = append(parts, strings.ToLower(f.PriceTier)+" tier")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (nc *numberCommand) numberList(ctx context.Context, c *command, args []token) (Reply, func(context.Context)) {
	if len(args) > 0 {
		return usageReply(usageErr(numberUsage, "`%s`: `/number list` takes nothing more.", args[0].text)), nil
	}
	if reply, ok := nc.gate.allow(ctx, c, switchboard.PermNumberRead); !ok {
		return reply, nil
	}
	return textReply(":mag: Looking up the account's numbers…"), func(ctx context.Context) {
		list, err := nc.numbers.HeldNumbers(ctx)
		nc.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermNumberRead, Decision: apiDecision(err), Detail: fmt.Sprintf("%d held numbers listed", len(list))})
		var text string
		var send func(context.Context)
		switch {
		case err != nil:
			text = ":x: " + nc.ops.userError(err, "numbers held")
		case len(list) == 0:
			text = "The account holds no numbers. `/number available` shows those you can reserve."
		default:
			var lines string
			lines, send = nc.numberLines(c, list, "numbers-held", "Numbers the account holds")
			text = fmt.Sprintf("*The account holds %s*\n%s", plural(len(list), "number"), lines)
		}
		nc.ops.respond(ctx, c.ResponseURL, textReply(text).Message(), false)
		if send != nil {
			send(ctx)
		}
	}
}

// numberLines lists numbers, one a line: the number, its type, zone, tier
// and whether it takes SMS. Shown to the requester only, so not masked.
// Past maxNumberLines it says how many it left out and returns the work that
// attaches them all, for after the lines are posted (nil when none is left
// out).
func (nc *numberCommand) numberLines(c *command, list []enco.PhoneNumber, file, title string) (string, func(context.Context)) {
	var send func(context.Context)
	var b strings.Builder
	for _, n := range list[:min(len(list), maxNumberLines)] {
		fmt.Fprintf(&b, "• `%s` — %s\n", render.NumberLabel(n.Number, false), numberTraits(n))
	}
	if len(list) > maxNumberLines {
		rows := make([][]string, len(list))
		for i, n := range list {
			rows[i] = []string{"+" + n.Number, strings.ToLower(n.Type), cmp.Or(n.Zone, numberZone(n.Number)), strings.ToLower(n.PriceTier), strconv.FormatBool(n.SMSSupported)}
		}
		var note string
		note, send = nc.lists.attachList(c, fullList{name: file, title: title, header: []string{"number", "type", "zone", "tier", "sms"}, rows: rows})
		b.WriteString(leftOut(maxNumberLines, len(list)) + " " + note)
	}
	return strings.TrimRight(b.String(), "\n"), send
}

func numberTraits(n enco.PhoneNumber) string {
	var parts []string
	if n.Type != "" {
		parts = append(parts, strings.ToLower(n.Type))
	}
	if z := cmp.Or(n.Zone, numberZone(n.Number)); z != "" {
		parts = append(parts, "zone "+z)
	}
	if n.PriceTier != "" {
		parts = append(parts, strings.ToLower(n.PriceTier)+" tier")
	}
	if n.SMSSupported {
		parts = append(parts, "SMS")
	}
	// The words are EnCo's, and the reservation's reply is posted in the
	// channel's thread.
	return render.Escape(strings.Join(parts, ", "))
}

// numberZone returns the telephone zone of a Belgian geographic number
// ("02", "050"), or "" for any other number. EnCo's lists do not say it.
// A fixed number missing from libphonenumber's tables gets the zone its
// digits show: Brussels, Antwerp, Liège and Ghent have one-digit zones
// (02, 03, 04, 09), the others two.
func numberZone(digits string) string {
	num, err := phonenumbers.Parse("+"+digits, phone.DefaultRegion)
	if err != nil || num.GetCountryCode() != 32 {
		return ""
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	if phonenumbers.IsValidNumber(num) {
		n := phonenumbers.GetLengthOfGeographicalAreaCode(num)
		if n <= 0 || n >= len(nsn) {
			return ""
		}
		return "0" + nsn[:n]
	}
	switch {
	case len(nsn) != 8 || nsn[0] == '0':
		return "" // not shaped like a fixed number
	case strings.ContainsRune("2349", rune(nsn[0])):
		return "0" + nsn[:1]
	}
	return "0" + nsn[:2]
}

// poolNumber reads the one number of /number reserve or release. A Belgian
// number missing from libphonenumber's tables is accepted too: EnCo's pool
// decides which numbers exist, and every number it lists must be one the
// bot can reserve.
func poolNumber(sub string, pos []token) (phone.Number, *UsageError) {
	nums, err := numbers(numberUsage, pos)
	if err == nil && len(nums) == 1 {
		return nums[0], nil
	}
	words := make([]string, len(pos))
	for i, t := range pos {
		words[i] = t.text
	}
	if n, perr := phone.ParsePool(strings.Join(words, " ")); perr == nil {
		return n, nil
	}
	if err != nil {
		return phone.Number{}, err
	}
	return phone.Number{}, usageErr(numberUsage, "`/number %s` takes one number at a time; I read %d.", sub, len(nums))
}

// numberChange asks to confirm a reservation or release. The confirmation
// states what it costs and, for a reservation, the address declaration the
// law requires, which the click makes. A number the bot released less than
// 15 days ago is refused before any confirmation: EnCo keeps it frozen.
// A reservation's confirmation follows the acknowledgement: the number is
// first looked up in EnCo's list of available numbers, so that the
// confirmation says what it reserves (a premium number, above all).
func (nc *numberCommand) numberChange(ctx context.Context, c *command, sub string, args []token) (Reply, func(context.Context)) {
	allowed := []string{}
	if sub == "reserve" {
		allowed = append(allowed, "zone", "type", "tier", "sms")
	}
	pos, opts, err := options(numberUsage, args, allowed...)
	if err != nil {
		return usageReply(err), nil
	}
	if len(pos) == 0 {
		return usageReply(usageErr(numberUsage, "`/number %s` needs the number, e.g. `/number %s 02 206 07 42`.", sub, sub)), nil
	}
	n, uerr := poolNumber(sub, pos)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	if n.IsInternational() || (n.Kind != phone.Fixed && n.Kind != phone.Mobile && n.Kind != phone.Unknown) {
		return usageReply(usageErr(numberUsage, "`%s` is not a Belgian fixed or mobile number, the only kinds FlexIO has.", n.International())), nil
	}
	params, uerr := reserveParams(n, opts)
	if uerr != nil {
		return usageReply(uerr), nil
	}
	perm := switchboard.CommandNumber + "." + sub
	if reply, ok := nc.gate.allow(ctx, c, perm); !ok {
		return reply, nil
	}
	if sub == "reserve" {
		until, frozen, err := nc.freezes.NumberFrozenUntil(ctx, n.Digits)
		if err != nil {
			ref := state.NewHex(4)
			nc.log.Error("read number freeze", "err", err, "ref", ref)
			return storeDown(ref), nil
		}
		if frozen {
			return textReply(fmt.Sprintf(":no_entry: %s was released less than 15 days ago, and EnCo keeps a released number frozen for 15 days: nobody, you included, can reserve it before %s. Nothing was reserved.",
				n.International(), until.UTC().Format("2 January 2006 15:04 UTC"))).with("usage"), nil
		}
		return textReply(fmt.Sprintf(":mag: Looking up %s in EnCo's list of available numbers…", render.NumberLabel(n.Digits, false))), func(ctx context.Context) {
			listing := nc.listedNumber(ctx, n.Digits, params)
			nc.ops.respond(ctx, c.ResponseURL, nc.reserveConfirmation(ctx, c, n, params, listing).Message(), false)
		}
	}
	op := numberOperation(perm, n, params)
	return nc.confirm.confirm(ctx, c, pending{
		op:    op,
		title: "Release " + render.NumberLabel(n.Digits, nc.mask),
		lines: []string{numberLine(n, params)},
		note: "Its monthly billing stops. EnCo then freezes the number for 15 days: nobody, you included, can reserve it again until " +
			time.Now().Add(freezePeriod).UTC().Format("2 January 2006") + ".",
		confirmLabel: "Release",
		danger:       true,
	}), nil
}

// numberOperation is the reservation or release (perm) of one number.
func numberOperation(perm string, n phone.Number, params switchboard.Params) switchboard.Operation {
	return switchboard.Operation{
		Kind:     perm,
		Targets:  []switchboard.Target{switchboard.Number(n.Digits)},
		Expected: 1,
		Params:   params,
	}
}

// numberLine names a number in a confirmation, with its kind, zone and tier.
func numberLine(n phone.Number, params switchboard.Params) string {
	line := render.NumberLabel(n.Digits, false) + " — " + numberKindWord(n, params)
	if params.Zone != "" {
		line += ", zone " + params.Zone
	}
	if t := params.Tier; t != "" {
		line += ", " + strings.ToLower(t) + " tier"
	}
	return line
}

// listing is what EnCo's list of available numbers says of one number.
type listing struct {
	number enco.PhoneNumber
	found  bool
	err    error
}

// listedNumber looks digits up in EnCo's list of available numbers.
func (nc *numberCommand) listedNumber(ctx context.Context, digits string, params switchboard.Params) listing {
	list, err := nc.numbers.AvailableNumbers(ctx, enco.NumberFilter{Type: params.Type})
	if err != nil {
		return listing{err: err}
	}
	for _, n := range list {
		if n.Number == digits {
			return listing{number: n, found: true}
		}
	}
	return listing{}
}

// reserveConfirmation asks to confirm a reservation: what it costs, the
// tier EnCo lists the number in (a premium number says so plainly), and
// the address declaration the law requires, which the click makes.
func (nc *numberCommand) reserveConfirmation(ctx context.Context, c *command, n phone.Number, params switchboard.Params, l listing) Reply {
	var tierNote string
	switch {
	case l.found:
		params.Tier = cmp.Or(strings.ToUpper(l.number.PriceTier), params.Tier)
		params.Type = cmp.Or(strings.ToUpper(l.number.Type), params.Type)
		params.Zone = cmp.Or(l.number.Zone, params.Zone)
		if strings.EqualFold(params.Tier, "PREMIUM") {
			tierNote = "It is a *premium* number: EnCo's premium price tier holds numbers of higher value, which may cost more than regular ones. "
		}
	case l.err != nil:
		tierNote = "I could not read EnCo's list of available numbers, so I cannot tell whether it is a premium number: `/number available` shows the tier. "
		nc.log.Warn("list available numbers before a reservation prompt", "err", l.err, "user", c.UserID)
	default:
		tierNote = "It is not in EnCo's list of available numbers, so EnCo may refuse it. "
	}
	where := "in zone " + params.Zone
	if params.Zone == "" {
		where = "in the number's zone"
	}
	premium := ""
	if strings.EqualFold(params.Tier, "PREMIUM") {
		premium = " premium number"
	}
	return nc.confirm.confirm(ctx, c, pending{
		op:    numberOperation(switchboard.CommandNumber+".reserve", n, params),
		title: "Reserve" + premium + " " + render.NumberLabel(n.Digits, nc.mask),
		lines: []string{numberLine(n, params)},
		note: tierNote + "Reserved numbers are billed by the month (a part month counts in full) until they are released. " +
			fmt.Sprintf("By confirming you declare a business or personal address %s, as Belgian law requires.", where),
		confirmLabel: "Reserve",
	})
}

// reserveParams checks the options of /number reserve against the number
// and keeps them for the reservation: zone (given, or the number's own),
// type, tier and SMS support as given.
func reserveParams(n phone.Number, opts map[string]string) (switchboard.Params, *UsageError) {
	params := switchboard.Params{Zone: numberZone(n.Digits)}
	if v, ok := opts["zone"]; ok {
		z, uerr := parseZone(v)
		switch {
		case uerr != nil:
			return switchboard.Params{}, uerr
		case n.Kind == phone.Mobile:
			return switchboard.Params{}, usageErr(numberUsage, "`zone=%s`: %s is a mobile number, which has no zone.", v, n.International())
		case params.Zone != "" && z != params.Zone:
			return switchboard.Params{}, usageErr(numberUsage, "`zone=%s` does not match: %s is in zone %s.", v, n.International(), params.Zone)
		}
		params.Zone = z
	}
	switch v := strings.ToLower(opts["type"]); {
	case v == "":
	case v != "fixed" && v != "mobile":
		return switchboard.Params{}, usageErr(numberUsage, "`type=%s`: the type is `fixed` or `mobile`.", opts["type"])
	case (n.Kind == phone.Fixed && v != "fixed") || (n.Kind == phone.Mobile && v != "mobile"):
		return switchboard.Params{}, usageErr(numberUsage, "`type=%s` does not match: %s is a %s number.", opts["type"], n.International(), n.Kind)
	default:
		params.Type = strings.ToUpper(v)
	}
	switch v := strings.ToLower(opts["tier"]); v {
	case "":
	case "regular", "premium":
		params.Tier = strings.ToUpper(v)
	default:
		return switchboard.Params{}, usageErr(numberUsage, "`tier=%s`: the price tier is `regular` or `premium`.", opts["tier"])
	}
	switch v := strings.ToLower(opts["sms"]); v {
	case "":
	case "yes", "no":
		params.SMS = v
	default:
		return switchboard.Params{}, usageErr(numberUsage, "`sms=%s`: say `sms=yes` for a number that takes SMS, or `sms=no`.", opts["sms"])
	}
	return params, nil
}

// numberKindWord is "fixed" or "mobile", from the number, its zone or the
// command.
func numberKindWord(n phone.Number, params switchboard.Params) string {
	if n.Kind == phone.Fixed || n.Kind == phone.Mobile {
		return n.Kind.String()
	}
	if params.Zone != "" {
		return "fixed" // only fixed numbers have a zone
	}
	return cmp.Or(strings.ToLower(params.Type), "fixed or mobile")
}

// reserveRequest builds the documented body of a reservation: from EnCo's
// listing of available numbers when the number is in it (type, tier, SMS
// support, zone), else from the command and the number itself.
func (nc *numberCommand) reserveRequest(ctx context.Context, op switchboard.Operation, digits string) enco.ReserveRequest {
	p := op.Params
	req := enco.ReserveRequest{Number: digits, Zone: p.Zone, Type: p.Type, PricingTier: p.Tier, SupportsSMS: p.SMS == "yes"}
	list, err := nc.numbers.AvailableNumbers(ctx, enco.NumberFilter{Type: req.Type, PriceTier: req.PricingTier})
	if err != nil {
		nc.log.Warn("list available numbers before a reservation; reserving with the command's values", "err", err, "operation", op.ID)
	}
	for _, n := range list {
		if n.Number != digits {
			continue
		}
		req.Type = cmp.Or(n.Type, req.Type)
		req.PricingTier = cmp.Or(n.PriceTier, req.PricingTier)
		req.Zone = cmp.Or(n.Zone, req.Zone)
		if p.SMS == "" {
			req.SupportsSMS = n.SMSSupported
		}
		return req
	}
	if req.Type == "" {
		if n, err := phone.Parse(digits); err == nil && n.Kind == phone.Mobile {
			req.Type = "MOBILE"
		} else {
			req.Type = "FIXED"
		}
	}
	req.PricingTier = cmp.Or(req.PricingTier, "REGULAR")
	return req
}

// run carries out a confirmed reservation or release and reports it
// in the thread.
func (nc *numberCommand) run(ctx context.Context, op switchboard.Operation, responseURL string) {
	if !nc.ops.startOperation(ctx, &op, responseURL) {
		return
	}
	digits := enco.TargetDevice(op.Targets[0]).Identifier
	label := render.NumberLabel(digits, nc.mask)
	res := switchboard.Result{Target: op.Targets[0].String()}
	var err error
	switch op.Kind {
	case switchboard.KindNumberReserve:
		var got enco.PhoneNumber
		got, err = nc.numbers.ReserveNumber(ctx, nc.reserveRequest(ctx, op, digits))
		if err != nil {
			res.Detail = fmt.Sprintf(":x: %s was not reserved: %s", label, nc.ops.userError(err, "numbers reserve"))
			break
		}
		res = nc.reserved(ctx, op, digits, got)
	case switchboard.KindNumberRelease:
		err = nc.numbers.ReleaseNumber(ctx, digits)
		until := time.Now().Add(freezePeriod)
		res.Detail = fmt.Sprintf(":white_check_mark: Released %s. It is frozen until %s: nobody can reserve it before then.", label, until.UTC().Format("2 January 2006"))
		if err != nil {
			res.Detail = fmt.Sprintf(":x: %s was not released: %s", label, nc.ops.userError(err, "numbers release"))
		} else if ferr := nc.freezes.FreezeNumber(ctx, digits, until); ferr != nil {
			nc.log.Error("remember number freeze", "err", ferr, "operation", op.ID)
		}
	default:
		nc.log.Error("no executor for operation", "kind", op.Kind, "operation", op.ID)
		return
	}
	res.OK = err == nil
	var detail string
	if res.OK && op.Kind == switchboard.KindNumberReserve {
		detail = "reserved " + res.Target
	}
	nc.gate.audit(ctx, switchboard.AuditEntry{UserID: op.UserID, Command: op.Kind, Decision: apiDecision(err), OperationID: op.ID, Detail: detail})
	if err := nc.ops.recordResult(ctx, op, res, true, false); err != nil {
		nc.log.Error("record number result", "err", err, "operation", op.ID)
		nc.ops.postInThread(ctx, op, res.Detail)
	}
}

// reserved is the result of a reservation EnCo made: the number EnCo says it
// reserved, which is what the account now holds and is billed for. The
// request names the wanted number in a filter, so EnCo may reserve another;
// then the result says so, and the operation records EnCo's number as its
// target and in its title.
func (nc *numberCommand) reserved(ctx context.Context, op switchboard.Operation, asked string, got enco.PhoneNumber) switchboard.Result {
	number := cmp.Or(got.Number, asked)
	label := render.NumberLabel(number, nc.mask)
	traits := numberTraits(got)
	if traits != "" {
		traits = " (" + traits + ")"
	}
	res := switchboard.Result{Target: switchboard.Number(number).String(), OK: true,
		Detail: fmt.Sprintf(":white_check_mark: Reserved %s%s. It is billed monthly until it is released with `/number release`.", label, traits)}
	if number == asked {
		return res
	}
	askedLabel := render.NumberLabel(asked, nc.mask)
	res.Detail = fmt.Sprintf(":warning: EnCo reserved %s%s, not %s as asked: EnCo takes the number asked for as a filter and reserved this one. The account now holds %s, billed monthly until it is released with `/number release`; %s was not reserved.",
		label, traits, askedLabel, label, askedLabel)
	if _, err := nc.operations.UpdateOperation(ctx, op.ID, func(o *switchboard.Operation) error {
		o.Targets = []switchboard.Target{switchboard.Number(number)}
		o.Params.Title = fmt.Sprintf("Reserve %s (EnCo's choice; %s was asked for)", label, askedLabel)
		return nil
	}); err != nil {
		nc.log.Error("record the number EnCo reserved", "err", err, "operation", op.ID, "reserved", number)
	}
	nc.log.Warn("EnCo reserved another number than the one asked for", "operation", op.ID, "asked", asked, "reserved", number)
	return res
}
