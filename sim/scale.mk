# scale.mk - the many-node load simulator and `make scale`; included by the Makefile.
#   make scale   K simulated nodes x P pods writing PodEnergy/NodeEnergy to the e2e cluster's
#                real API server (sim/kubesim.c, test/e2e/scale_test.go, docs/scale.md);
#                brings the cluster up, prints the table, takes it down (E2E_KEEP=1 keeps it)
# kubesim is part of `all`, so `make test` / `make e2e` have it for the TestScaleSmoke suite.
.PHONY: scale
all: $(BUILD)/kubesim
e2e: $(BUILD)/kubesim

$(BUILD)/kubesim: sim/kubesim.c $(BUILD)/libwattlet.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

scale: $(BUILD)/kubesim | $(DEPS_STAMP)
	E2E_AGENT_BUILD=$(BUILD) bash hack/scale.sh
