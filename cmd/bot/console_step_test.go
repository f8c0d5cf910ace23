package main

import "testing"

// TestConsoleRunsWorkflowSteps runs both steps from the console as a
// workflow would: the confirmation arrives as a direct message, and the
// step's completion is printed.
func TestConsoleRunsWorkflowSteps(t *testing.T) {
	t.Parallel()
	s := startConsole(t)
	s.waitOutput("Demo SIM cards:")
	s.typeLine("/step sim_change user=@you action=deactivate")
	s.waitOutput("workflow step Fx000001 (sim_change) started")
	s.waitOutput("workflow step Fx000001 failed: The sim_ids input is empty")
	s.typeLine("/step sim_change user=@you action=deactivate sim_ids=0471 00 00 01, 0471 00 00 02")
	s.waitOutput("(direct message) [1] Deactivate 2 SIM cards?")
	s.waitOutput("[1] Confirm   [2] Cancel")
	s.typeLine("1")
	s.waitOutput("workflow step Fx000002 completed: failed=0 succeeded=2 thread_url=(direct message) [2]")
	s.typeLine("/step set_fmu_profile user=@you profile=ON_DUTY started_by=@you")
	s.waitOutput("workflow step Fx000003 completed: profile=ON_DUTY")
	s.typeLine("/step sim_terminate user=@you")
	s.waitOutput("Usage: /step sim_change")
	if sim, _ := s.m.Sandbox.SIM("32471000002"); sim.State != "Deactivated" {
		t.Errorf("sandbox SIM state = %q, want Deactivated", sim.State)
	}
	s.end()
}

// TestConsoleRedrawsThePromptAfterAStepCompletes: a step's completion
// arrives after the prompt, like a late result, and the prompt follows it.
func TestConsoleRedrawsThePromptAfterAStepCompletes(t *testing.T) {
	s := startConsole(t)
	s.do("/step set_fmu_profile user=@you profile=ON_DUTY started_by=@you")
	s.waitOutput("completed: profile=ON_DUTY\n> ")
	s.end()
}
