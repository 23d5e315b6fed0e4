module wattlet.dev/e2e

go 1.22.0

require github.com/grafana/grafana-foundation-sdk/go v0.0.22
