package switchboard

import "strings"

// Operation kinds. An operation's kind is the permission it is checked
// against, so each kind is a permission name; the command is the part before
// the dot (see [CommandOf]).
const (
	KindSIMActivate   = PermSIMActivate
	KindSIMDeactivate = PermSIMDeactivate
	KindSIMReactivate = PermSIMReactivate
	KindSIMTerminate  = PermSIMTerminate
	KindFMURead       = PermFMURead
	KindFMUSet        = PermFMUSet
	KindFMUSelf       = PermFMUSelf
	KindCallSelf      = PermCallSelf
	KindCallAny       = PermCallAny
	KindNumberReserve = PermNumberReserve
	KindNumberRelease = PermNumberRelease
)

// The commands that operations belong to, as [CommandOf] returns them.
const (
	CommandSIM    = "sim"
	CommandFMU    = "fmu"
	CommandCall   = "call"
	CommandNumber = "number"
)

// CommandOf returns the command of an operation kind or a permission: the
// part before the first dot ("sim" for "sim.deactivate").
func CommandOf(kind string) string {
	cmd, _, _ := strings.Cut(kind, ".")
	return cmd
}

// IsRead reports whether an operation of that kind only reads ("fmu.read")
// and changes nothing.
func IsRead(kind string) bool {
	return strings.HasSuffix(kind, ".read")
}
