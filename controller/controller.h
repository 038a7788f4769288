/*
 * SCAFFOLD controller: the controller instance.
 *
 * Ties the pieces together on one libuv loop: the OpenFlow listener and the
 * active connections (ofconn.h), the table of connected switches by
 * datapath id, topology discovery (probe.h, topo.h), in-band control
 * requests (control.h), rule sync (rules.h), the state store (db/), the
 * admin RPC server (rpc.h, STATE_DIR/admin.sock) and the status file.
 *
 * Lifetime (libuv style): ctl_controller_create() allocates,
 * ctl_controller_start() opens the listener and connections and starts the
 * timers, ctl_controller_stop() closes every handle (uv_run() then returns
 * once they are closed), ctl_controller_destroy() frees.
 */
#ifndef CTL_CONTROLLER_H
#define CTL_CONTROLLER_H 1

#include <uv.h>

struct ctl_config;
struct ctl_controller;
struct ctl_topo;

int ctl_controller_create(uv_loop_t *, const struct ctl_config *,
                          struct ctl_controller **);
int ctl_controller_start(struct ctl_controller *);
void ctl_controller_stop(struct ctl_controller *);
void ctl_controller_destroy(struct ctl_controller *);

const struct ctl_topo *ctl_controller_topo(const struct ctl_controller *);

#endif /* controller/controller.h */
