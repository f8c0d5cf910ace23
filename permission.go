package switchboard

// The permissions a policy can grant. Each is "<command>.<verb>": a policy
// grants a whole command with "<command>.*".
const (
	PermFMUSelf        = "fmu.self"
	PermFMURead        = "fmu.read"
	PermFMUSet         = "fmu.set"
	PermSIMRead        = "sim.read"
	PermSIMActivate    = "sim.activate"
	PermSIMDeactivate  = "sim.deactivate"
	PermSIMReactivate  = "sim.reactivate"
	PermSIMTerminate   = "sim.terminate"
	PermNumberRead     = "number.read"
	PermNumberReserve  = "number.reserve"
	PermNumberRelease  = "number.release"
	PermCallSelf       = "call.self"
	PermCallAny        = "call.any"
	PermDirectoryAdmin = "directory.admin"
	PermAuditRead      = "audit.read"
)
