// Package metrics is the agent's Prometheus registry and the series the engine reports on it:
// decisions and units, WAL commits and errors, usage database writes and lag, clock steps,
// open sessions and remembered keys, and the build (meterd_build_info). The names, help texts and buckets the README and the
// dashboards rely on are defined here and nowhere else; core/httpapi adds its own series
// (requests, connections) to the same registry.
package metrics
