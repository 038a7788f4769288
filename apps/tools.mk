# apps/tools.mk — sf-iperf and sf-tftp (apps/module.mk has sfcat).
PROGRAMS += $(BUILD)/bin/sf-iperf $(BUILD)/bin/sf-tftp

APPS_IPERF_OBJS := $(BUILD)/obj/apps/iperf-proto.o
APPS_TFTP_OBJS := $(BUILD)/obj/apps/tftp-proto.o

$(BUILD)/bin/sf-iperf: $(BUILD)/obj/apps/sf-iperf.o $(APPS_IPERF_OBJS) \
        $$(EXISTING_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(APPS_IPERF_OBJS) $(EXISTING_LIBS) -ljansson \
	    -lm -lpthread

$(BUILD)/bin/sf-tftp: $(BUILD)/obj/apps/sf-tftp.o $(APPS_TFTP_OBJS) \
        $$(EXISTING_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(APPS_TFTP_OBJS) $(EXISTING_LIBS) -lm -lpthread

# Unit tests of the pure logic.
UNIT_DEPS_apps_iperf_test := $(APPS_IPERF_OBJS)
UNIT_DEPS_apps_tftp_test := $(APPS_TFTP_OBJS)
UNIT_LDLIBS_apps_iperf_test := -lm
