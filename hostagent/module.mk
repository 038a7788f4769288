# hostagent/ — the per-host SCAFFOLD stack daemon (scaffold-hostagent).
#
# conn.o and stack.o are the pure state machine and demultiplexer (unit
# tested without I/O); the rest is the daemon around them.
HA_CORE_OBJS := $(BUILD)/obj/hostagent/conn.o $(BUILD)/obj/hostagent/stack.o
HA_DAEMON_OBJS := $(HA_CORE_OBJS) $(BUILD)/obj/hostagent/agent.o \
    $(BUILD)/obj/hostagent/ipc.o $(BUILD)/obj/hostagent/netio.o \
    $(BUILD)/obj/hostagent/join.o $(BUILD)/obj/hostagent/link.o

PROGRAMS += $(BUILD)/bin/scaffold-hostagent

# The agent links statically by default (HA_STATIC=0: dynamically).  One
# agent runs per host, a thousand of them in a scale run, and a dynamic
# glibc + libuv process starts at ~1.3 MiB of resident library pages before
# main(); static, the agent's whole VmRSS is ~1 MiB (docs: bench/README.md).
# Debian's libuv1-dev, libprotobuf-c-dev and libc6-dev ship the archives.
HA_STATIC ?= 1
ifeq ($(HA_STATIC),1)
HA_LDLIBS := -static -l:libuv_a.a -l:libprotobuf-c.a -lpthread -ldl -lm
else
HA_LDLIBS := -luv -lprotobuf-c
endif

$(BUILD)/bin/scaffold-hostagent: $(BUILD)/obj/hostagent/main.o \
        $(HA_DAEMON_OBJS) $(call lib_of,libsf) $(call lib_of,proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/hostagent/main.o $(HA_DAEMON_OBJS) \
	    $(call lib_of,libsf) $(call lib_of,proto) $(HA_LDLIBS)

# The same agent linked dynamically, for the system tests' HA_VALGRIND=1:
# valgrind cannot replace malloc in a static binary (its leak check sees
# no allocation at all) and reports static glibc's start-up as errors.
PROGRAMS += $(BUILD)/bin/scaffold-hostagent-dyn

$(BUILD)/bin/scaffold-hostagent-dyn: $(BUILD)/obj/hostagent/main.o \
        $(HA_DAEMON_OBJS) $(call lib_of,libsf) $(call lib_of,proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BUILD)/obj/hostagent/main.o $(HA_DAEMON_OBJS) \
	    $(call lib_of,libsf) $(call lib_of,proto) -luv -lprotobuf-c

UNIT_DEPS_ha_conn_test := $(HA_CORE_OBJS)
UNIT_DEPS_ha_failover_test := $(HA_CORE_OBJS)
UNIT_DEPS_ha_join_test := $(BUILD)/obj/hostagent/join.o
UNIT_DEPS_ha_link_test := $(HA_DAEMON_OBJS)
UNIT_LDLIBS_ha_link_test := -luv -lprotobuf-c
