# controller/ — the scaffold-controller daemon.
#
# Every controller/*.c but main.c is a module linked into the daemon and into
# the ctl_* unit tests; main.c holds only main().
# OVS container macros use typeof, which strict -std=c11 spells __typeof__.
EXTRA_CFLAGS_controller := $(OVS_CFLAGS) -Dtypeof=__typeof__

CTL_SRCS := $(filter-out controller/main.c,$(wildcard controller/*.c))
CTL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CTL_SRCS))
CTL_LDLIBS := $(OVS_LIBS) -linih -luv

PROGRAMS += $(BUILD)/bin/scaffold-controller

$(BUILD)/bin/scaffold-controller: $(BUILD)/obj/controller/main.o $(CTL_OBJS) \
                                  $$(EXISTING_LIBS) $(OVS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/controller/main.o $(CTL_OBJS) \
	    $(EXISTING_LIBS) $(CTL_LDLIBS) $(SYS_LIBS)

# Unit tests: tests/unit/ctl_NAME_test.c links every controller module.
CTL_UNIT_TESTS := $(patsubst tests/unit/%.c,%,\
                    $(wildcard tests/unit/ctl_*_test.c))
$(foreach t,$(CTL_UNIT_TESTS),$(eval UNIT_DEPS_$(t) := $(CTL_OBJS)))
$(foreach t,$(CTL_UNIT_TESTS),$(eval UNIT_LDLIBS_$(t) := $(CTL_LDLIBS)))
