package switchboard

// Workflow Builder steps the bot offers (the callback_id of each function in
// the app manifest). A policy opts in to each under workflows.allow.
const (
	StepSetFMUProfile = "set_fmu_profile"
	StepSIMChange     = "sim_change"
)
