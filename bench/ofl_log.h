/*
 * sf-ofload: logging through OVS vlog.
 *
 * Include this instead of "openvswitch/vlog.h".  It keeps vlog's API and
 * only redefines the two inner macros: upstream's compare the module's int
 * 'min_level' with an enum, which clang's -Wsign-compare rejects under
 * -Werror.  These call vlog_is_enabled() instead, with the same effect.
 * (The same idea as controller/log.h; bench/ links no controller code.)
 */
#ifndef OFL_LOG_H
#define OFL_LOG_H 1

#include "openvswitch/vlog.h"

#undef VLOG
#define VLOG(LEVEL, ...)                                            \
    do {                                                            \
        enum vlog_level level__ = (LEVEL);                          \
        if (vlog_is_enabled(&this_module, level__)) {               \
            vlog(&this_module, level__, __VA_ARGS__);               \
        }                                                           \
    } while (0)

#undef VLOG_RL
#define VLOG_RL(RL, LEVEL, ...)                                     \
    do {                                                            \
        enum vlog_level level__ = (LEVEL);                          \
        if (vlog_is_enabled(&this_module, level__)) {               \
            vlog_rate_limit(&this_module, level__, RL, __VA_ARGS__); \
        }                                                           \
    } while (0)

#endif /* bench/ofl_log.h */
