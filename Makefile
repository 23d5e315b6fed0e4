# wattlet - one entry point: build, run, test, bench.
#   make            build the agent (build/wattlet) and the simulated RAPL meter (build/raplsim)
#   make run        run the agent on this host (simulated RAPL where there is none)
#   make test       unit tests, the same under ASan+UBSan, integration, fuzz smoke, e2e cluster
#   make bench      overhead benchmarks
#   make soak       30-minute soak under cgroup churn (RSS and fd slopes)
#   make fuzz       libFuzzer targets for every parser (fuzz/README.md)
#   make scale      K simulated nodes writing to the e2e cluster's real API server (docs/scale.md)
#   make hw-check   hardware kit: probe + validate on real meters, markdown report (docs/hardware/)
#   make clean
# Every target installs missing Debian packages first (hack/deps.sh).

# `make` alone builds the agent and the simulator; the included bpf/bench makefiles come first
# and would otherwise make their first target the default.
.DEFAULT_GOAL := all

CC       ?= gcc
BUILD    ?= build
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP -I. -I$(BUILD) \
            -DWATTLET_VERSION='"$(VERSION)"' -DWATTLET_GIT_REV='"$(GIT_REV)"'
LDLIBS   := -lyaml -lwebsockets -lcurl -ljansson -lcrypto -lbpf -lelf -lz -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

AGENT_MAIN := agent/cli/main.c
LIB_SRCS   := $(filter-out $(AGENT_MAIN),$(sort $(wildcard agent/*/*.c)))
SIM_SRCS   := sim/raplsim_model.c
LIB_SRCS   += $(SIM_SRCS)
TEST_SRCS  := $(sort $(wildcard test/unit/test_*.c))
TEST_NAMES := $(patsubst test/unit/%.c,%,$(TEST_SRCS))

DEPS_STAMP := $(BUILD)/.deps-ok

# Generated headers (e.g. BPF skeletons) every agent object may include.
GENERATED_HEADERS :=
-include bpf/bpf.mk
-include bench/bench.mk
-include hack/hw-check.mk
-include sim/scale.mk

.PHONY: all run test unit-test asan-test integration-test bench soak clean deps help
all: $(BUILD)/wattlet $(BUILD)/raplsim

help:
	@sed -n '1,/^$$/p' Makefile

deps: $(DEPS_STAMP)
$(DEPS_STAMP): hack/deps.sh
	@mkdir -p $(@D)
	bash hack/deps.sh
	@touch $@

# --- agent ------------------------------------------------------------------
LIB_OBJS      := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_OBJS_ASAN := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRCS))

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP) $(GENERATED_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c | $(DEPS_STAMP) $(GENERATED_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) -c $< -o $@

# /ui: the page (ui/index.html) compiled into the library as a C string (agent/export/ui.h)
UI_PAGE_C := $(BUILD)/gen/ui_page.c
LIB_OBJS      += $(BUILD)/obj/gen/ui_page.o
LIB_OBJS_ASAN += $(BUILD)/asan/gen/ui_page.o
$(UI_PAGE_C): ui/index.html
	@mkdir -p $(@D)
	{ printf '/* generated from ui/index.html by the Makefile; do not edit */\n'; \
	  printf '#include "agent/export/ui.h"\nconst char ui_page_html[] =\n'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/\\x\1/g; s/^/"/; s/$$/"/'; \
	  printf ';\nconst size_t ui_page_html_len = sizeof(ui_page_html) - 1;\n'; } > $@.tmp
	mv $@.tmp $@
$(BUILD)/obj/gen/ui_page.o: $(UI_PAGE_C) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/asan/gen/ui_page.o: $(UI_PAGE_C) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) -c $< -o $@

$(BUILD)/libwattlet.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libwattlet-asan.a: $(LIB_OBJS_ASAN)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/wattlet: $(BUILD)/obj/$(AGENT_MAIN:.c=.o) $(BUILD)/libwattlet.a
	$(CC) $(CFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

# --- simulated RAPL ---------------------------------------------------------
$(BUILD)/raplsim: sim/raplsim.c $(BUILD)/libwattlet.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) -lm

# --- tests ------------------------------------------------------------------
$(BUILD)/test/%: test/unit/%.c $(BUILD)/libwattlet.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS) -lcmocka

$(BUILD)/test-asan/%: test/unit/%.c $(BUILD)/libwattlet-asan.a | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $(filter %.c %.a,$^) $(LDLIBS) -lcmocka

# The NVML stand-in (not a GPU; test/stub/nvml_standin.c) for the GPU tests: test_gpu
# dlopens it from its own directory, it_gpu_standin.sh through gpu.library.
$(BUILD)/test/libnvidia-ml.so.1: test/stub/nvml_standin.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $<
$(BUILD)/test/test_gpu $(BUILD)/test-asan/test_gpu: | $(BUILD)/test/libnvidia-ml.so.1

UNIT_BINS := $(addprefix $(BUILD)/test/,$(TEST_NAMES))
ASAN_BINS := $(addprefix $(BUILD)/test-asan/,$(TEST_NAMES))
-include fuzz/fuzz.mk

unit-test: $(UNIT_BINS) $(BUILD)/raplsim
	@bash hack/run-unit.sh $(BUILD)/test $(TEST_NAMES)

asan-test: $(ASAN_BINS) $(BUILD)/raplsim
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		bash hack/run-unit.sh $(BUILD)/test-asan $(TEST_NAMES)

integration-test: all $(BUILD)/test/libnvidia-ml.so.1
	@bash test/integration/run.sh $(BUILD)

test: all $(UNIT_BINS) $(ASAN_BINS)
	@bash hack/test-all.sh $(BUILD) $(TEST_NAMES)

# --- run, bench -------------------------------------------------------------
run: all
	@bash hack/run.sh $(BUILD) $(ARGS)

bench: all $(BUILD)/bench/metrics_bench $(BUILD)/bench/writer_bench
	@bash bench/bench.sh $(BUILD)

# make soak: 30 minutes of cgroup churn; RSS and fd slopes printed and judged (test/soak/soak.sh).
# make test runs a 40 s smoke of it (test/integration/it_soak_smoke.sh).
soak: all
	@SOAK_SECONDS=$${SOAK_SECONDS:-1800} SOAK_PAUSE=$${SOAK_PAUSE:-1} BUILD=$(BUILD) bash test/soak/soak.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/asan $(BUILD)/test $(BUILD)/test-asan $(BUILD)/bench -name '*.d' -type f 2>/dev/null)

# --- image and e2e cluster --------------------------------------------------
# make image       the agent image wattlet:dev (build/wattlet + build/raplsim + their libs) as
#                  an OCI archive, without a Docker daemon: build/image/wattlet-image.tar
#                  (import: ctr -n k8s.io images import build/image/wattlet-image.tar).
#                  The Dockerfile builds the same content for users with Docker/BuildKit.
# make e2e-cluster start the single-node Kubernetes cluster (hack/cluster-up.sh; see docs/e2e.md)
# make e2e-down    stop it and clean up (hack/cluster-down.sh)
# make e2e         cluster up, go test ./test/e2e/... (report build/e2e/reports/e2e.json), down
.PHONY: image e2e e2e-cluster e2e-down
image: build/image/wattlet-image.tar
build/image/wattlet-image.tar: $(BUILD)/wattlet $(BUILD)/raplsim hack/image.sh hack/oci-image.sh
	@mkdir -p $(@D)
	bash hack/image.sh wattlet $@ $(BUILD)

e2e-cluster: $(BUILD)/wattlet $(BUILD)/raplsim | $(DEPS_STAMP)
	E2E_AGENT_BUILD=$(BUILD) bash hack/cluster-up.sh

e2e-down:
	bash hack/cluster-down.sh

e2e: $(BUILD)/wattlet $(BUILD)/raplsim | $(DEPS_STAMP)
	E2E_AGENT_BUILD=$(BUILD) bash test/e2e/run.sh
