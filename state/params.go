package state

// Keys of Operation.Params that more than one package reads: the commands
// that start an operation write them, the callback receiver, the renderer
// and the deliverer read them.
const (
	// ParamTracking holds an M2M request's tracking number once EnCo
	// returned it.
	ParamTracking = "tracking"
	// ParamProfile holds the profile an FMU change sets (an enco.Profile).
	ParamProfile = "profile"
	// ParamWho prefixes the parameters that name the person a number
	// belongs to: Params[ParamWho+"32470123456"] = "U0AAAAAAA".
	ParamWho = "who:"
)

// Operation parameters of a call.
const (
	// ParamSession holds EnCo's session id once the call is placed.
	ParamSession = "session"
	// ParamOrigin holds the origin (the phone that rings first), E.164 digits.
	ParamOrigin = "origin"
)

// Operation parameters of an operation started by a workflow step.
const (
	// ParamStep holds the function_execution_id of the step execution.
	ParamStep = "step"
	// ParamStepFunction holds the step's callback_id (permissions.StepSIMChange, …).
	ParamStepFunction = "step_function"
)
