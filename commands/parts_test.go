package commands

// The values New wires, for tests that reach one part of the router.

func (r *Router) simCmd() *simCommand       { return commandOf[*simCommand](r) }
func (r *Router) fmuCmd() *fmuCommand       { return commandOf[*fmuCommand](r) }
func (r *Router) numberCmd() *numberCommand { return commandOf[*numberCommand](r) }
func (r *Router) callCmd() *callCommand     { return commandOf[*callCommand](r) }

func commandOf[T slashCommand](r *Router) T {
	for _, c := range r.reg.commands {
		if t, ok := c.(T); ok {
			return t
		}
	}
	panic("no such command in the registry")
}
