# SCAFFOLD suite — top-level build.
#
#   make deps     install missing Debian packages, build the patched OVS
#   make          build every component (needs `make deps` once)
#   make check    deps + build + unit, fuzz and system tests, one summary line
#   make fuzz     build the libFuzzer targets (clang)
#   make ovs-check  OVS's own group tests on the patched tree (slow)
#
# Components are discovered, not listed: every directory in LIBDIRS becomes a
# static library build/lib/libscaffold-DIR.a of its *.c files, every
# tests/unit/*_test.c a CUnit binary, every tests/fuzz/*_fuzz.c a libFuzzer
# target.  A directory may add rules of its own in DIR/module.mk.

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
CLANG ?= clang
BUILD := build
GEN := $(BUILD)/gen
OVS_SRC := build/ovs/src
OVS_BLD := build/ovs/build
OVS_LIB := $(OVS_BLD)/lib/.libs/libopenvswitch.a

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wno-missing-field-initializers
CPPFLAGS_SF := -I. -I$(GEN) -Ilibsf/include -D_GNU_SOURCE
CFLAGS ?= -O2 -g
SF_CFLAGS := -std=c11 $(WARN) $(CPPFLAGS_SF) $(CFLAGS)
# libopenvswitch public headers, as system headers (no config.h needed).
OVS_CFLAGS := -isystem $(OVS_SRC)/include -isystem $(OVS_BLD)/include
OVS_LIBS := $(OVS_LIB) -lssl -lcrypto -lm -lpthread
SYS_LIBS := -luv -lsqlite3 -lprotobuf-c -lm -lpthread
EXTRA_CFLAGS_tests = $(OVS_CFLAGS)

# Static libraries: proto first (others use it).
LIBDIRS := proto db libsf
lib_of = $(BUILD)/lib/libscaffold-$(1).a
ALL_LIBS :=

PROTO_SRCS := $(wildcard proto/*.proto)
PROTO_GEN_C := $(patsubst %.proto,$(GEN)/%.pb-c.c,$(PROTO_SRCS))
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)

all:
.SECONDEXPANSION:

# Generated protobuf-c code lives in build/gen/proto/NAME.pb-c.[ch];
# include it as "proto/NAME.pb-c.h".
$(GEN)/proto/%.pb-c.c $(GEN)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) $<

-include $(sort $(wildcard */*.mk tests/*/*.mk))

define lib_template
$(1)_SRCS := $$(strip $$(wildcard $(1)/*.c) $$(EXTRA_SRCS_$(1)))
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(call lib_of,$(1)): $$($(1)_OBJS)
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
ALL_LIBS := $(call lib_of,$(1)) $$(ALL_LIBS)
endef
$(foreach d,$(LIBDIRS),$(eval $(call lib_template,$(d))))
EXISTING_LIBS = $(foreach d,$(LIBDIRS),$(if $($(d)_SRCS),$(call lib_of,$(d))))

$(BUILD)/obj/%.o: %.c $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(SF_CFLAGS) $(EXTRA_CFLAGS_$(firstword $(subst /, ,$*))) \
	    -MMD -MP -c $< -o $@

# Generated code is compiled with the same warnings.
$(BUILD)/obj/$(GEN)/%.o: $(GEN)/%.c $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(SF_CFLAGS) -MMD -MP -c $< -o $@

# ---- unit tests ----------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_HARNESS := $(BUILD)/obj/tests/unit/harness.o

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_HARNESS) \
                       $$(EXISTING_LIBS) $$(UNIT_DEPS_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_HARNESS) $(UNIT_DEPS_$*) \
	    $(EXISTING_LIBS) $(UNIT_LDLIBS_$*) -lcunit $(SYS_LIBS)
# ---- fuzz targets (clang libFuzzer + ASan + UBSan) -----------------------
FUZZ_SRCS := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS := -std=c11 $(WARN) $(CPPFLAGS_SF) -g -O1 \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_SRCS = $(proto_SRCS)
# Fuzz targets #include the module they fuzz (e.g. libsf/ipc.c): rebuild
# them whenever a source or header of those modules changes.
FUZZ_DEPS := $(wildcard proto/*.[ch] libsf/*.[ch] libsf/include/sf/*.h)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(FUZZ_DEPS) $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) -lprotobuf-c

fuzz: $(FUZZ_BINS)

# ---- programs (added by component module.mk files) -----------------------
all: $(EXISTING_LIBS) $(PROGRAMS) $(UNIT_BINS)

# ---- set-up and tests ----------------------------------------------------
deps:
	@scripts/deps.sh
	@scripts/build-ovs.sh

# The suite is built twice: with gcc (the binaries the tests run) and with
# clang into build/clang (to keep the code warning-free under both).
check: deps
	@$(MAKE) --no-print-directory all fuzz
	@echo "check: clang build (warnings are errors)"
	@$(MAKE) --no-print-directory -s BUILD=build/clang CC=clang all
	@tests/run.sh

ovs-check: deps
	$(MAKE) -C $(OVS_BLD) check TESTSUITEFLAGS='-k group'

clean:
	rm -rf $(BUILD)/obj $(BUILD)/lib $(BUILD)/bin $(BUILD)/tests \
	    $(BUILD)/fuzz $(GEN) build/clang

distclean:
	rm -rf $(BUILD)

.PHONY: all deps check fuzz ovs-check clean distclean
.DELETE_ON_ERROR:
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
