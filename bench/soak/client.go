package main

import "github.com/meterd/meterd/bench/agent"

// client is the bench's agent client, with the soak's own calls on it (provision.go).
type client struct{ *agent.Client }
