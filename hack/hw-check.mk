# hack/hw-check.mk - `make hw-check`: the hardware kit (hack/hw-check.sh; docs/hardware/README.md).
# Included by the Makefile. The kit installs only the packages it needs and builds in its own
# directory (build/hw-check/build; `make hw-check BUILD=DIR` uses DIR instead), so it does
# not go through $(DEPS_STAMP). Report: build/hw-check/report-<host>-<date>.md.
#   make hw-check       on this host's real meters (RAPL, PMU, NVIDIA GPU); SKIPPED where absent
#   make hw-check-sim   the same checks on the SIMULATED RAPL meter (exercises the kit)
.PHONY: hw-check hw-check-sim
HW_CHECK_ENV := $(if $(filter command line,$(origin BUILD)),HW_CHECK_BUILD=$(BUILD))

hw-check:
	$(HW_CHECK_ENV) bash hack/hw-check.sh

hw-check-sim:
	$(HW_CHECK_ENV) HW_CHECK_SIM=1 bash hack/hw-check.sh
