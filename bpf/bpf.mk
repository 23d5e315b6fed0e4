# bpf/bpf.mk - eBPF programs: vmlinux.h, bpf/*.bpf.c -> $(BUILD)/bpf/*.bpf.o -> skeletons.
# Included by the Makefile. Objects include skeletons as "bpf/<x>.skel.h" (-I$(BUILD)).

BPF_CLANG ?= clang
BPFTOOL   ?= bpftool
BPF_CFLAGS ?= -g -O2
BPF_ARCH  := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
		-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')

BPF_SRCS  := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/*.h)

GENERATED_HEADERS += $(BPF_SKELS)
.SECONDARY: $(BPF_OBJS) $(BUILD)/vmlinux.h
LDLIBS += -lpfm

$(BUILD)/vmlinux.h: hack/vmlinux.sh | $(BUILD)/.deps-ok
	bash hack/vmlinux.sh $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	$(BPF_CLANG) $(BPF_CFLAGS) -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
		-I$(BUILD) -I. -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp
	@mv $@.tmp $@

.PHONY: bpf
bpf: $(BPF_SKELS)
