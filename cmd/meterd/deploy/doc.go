// Package deploy is meterd's deployment kit, and the tests that keep each of its files true to
// the code: the hardened systemd unit (meterd.service, checked with systemd-analyze), the
// container recipe (Containerfile, with meterd-healthcheck for its HEALTHCHECK), the sample
// configuration with every key and its default (meterd.cfg.example, checked against
// core/config and started as is), the Grafana dashboard and the Prometheus alert rules with
// their unit tests (promtool), and what `make install` puts where. The package has no code
// of its own.
package deploy
