module wattlet.dev/e2e

go 1.22.0
