# apps/ — programs built on libsf.
PROGRAMS += $(BUILD)/bin/sfcat

$(BUILD)/bin/sfcat: $(BUILD)/obj/apps/sfcat.o $(call lib_of,libsf) \
        $(call lib_of,proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(call lib_of,libsf) $(call lib_of,proto) \
	    -lpthread
