/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SCAFFOLD controller: the admin RPC server (proto/admin.proto).
 *
 * Serves length-prefixed (proto/framing.h) admin Requests on a Unix socket
 * (permissions 0600; a stale socket file is replaced, a live one refused)
 * and optionally on TCP, where every Request must carry the shared token.
 * Any number of clients may be connected and may pipeline requests.
 *
 * What it answers, and from where:
 *   - list switches/links/hosts/objects/instances/blocks/events, describe
 *     switch and host, status: read from the 'struct db' it is given
 *     (db/db.h), on the loop's thread, at request time;
 *   - rules of a switch, set-role, evict-host, status extras (version,
 *     epoch, ssIDs served, block size, start time) and per-switch live
 *     facts (round robin): through the caller's hooks (struct
 *     ctl_rpc_hooks), which run on the loop's thread and answer
 *     synchronously.  A NULL hook makes the request fail with
 *     ERROR_CODE_UNSUPPORTED.
 *   - events with follow: the client stays open and gets a Response with
 *     'more' set for each batch of new events.  New events are noticed when
 *     the caller calls ctl_rpc_notify_event() after appending to the event
 *     log, and also by a poll of the log every 'follow_poll_ms' while at
 *     least one client follows (so events written by another process or
 *     another handle show up too).
 *
 * Errors: a Request that does not decode, carries no op, a wrong token, or
 * a frame above the maximum gets one error Response (id 0 when the id is
 * unknown) and its connection is closed once that Response is written; the
 * other clients are not affected.  Errors about the request's subject
 * (NOT_FOUND, INVALID_ARGUMENT, UNAVAILABLE, ...) keep the connection.
 * docs/rpc.md has the full table.
 *
 * Lifetime (libuv style): ctl_rpc_server_create() allocates,
 * ctl_rpc_server_start() binds and listens, ctl_rpc_server_stop() closes
 * every handle (clients included) and calls its callback once they are all
 * closed, ctl_rpc_server_destroy() frees (after the stop callback, or
 * instead of start).  The server does not own the loop, the db handle or
 * the hooks' aux.
 */
#ifndef CTL_RPC_H
#define CTL_RPC_H 1

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"

struct ctl_rpc_server;

/* File name of the admin socket inside the controller's state directory. */
#define CTL_RPC_SOCKET_NAME "admin.sock"

/* Default largest Request and Response payload. */
#define CTL_RPC_MAX_FRAME (1024u * 1024u)

/* Default number of events per Response (ListEvents with limit 0). */
#define CTL_RPC_EVENT_LIMIT 1000

/* One installed rule, as the 'rules' hook reports it. */
struct ctl_rpc_rule {
    uint8_t table_id;           /* Flow table. */
    uint16_t priority;          /* Priority. */
    uint64_t cookie;            /* Cookie. */
    char *match;                /* ovs-ofctl syntax; malloc'ed, may be NULL
                                 * (empty).  Freed by the server. */
    char *actions;              /* Same, for the actions. */
    uint64_t n_packets;         /* Packet counter. */
    uint64_t n_bytes;           /* Byte counter. */
};

/* What the 'status' hook adds to the db counts. */
struct ctl_rpc_status {
    char version[64];           /* Controller version string. */
    uint64_t epoch;             /* Controller epoch. */
    uint8_t ss_id;              /* Primary ssID. */
    int64_t started_ms;         /* Start time. */
    uint8_t ss_ids[255];        /* Every ssID served, ascending. */
    size_t n_ss_ids;            /* Entries used in 'ss_ids'; 0 reports
                                 * just 'ss_id'. */
    uint16_t host_block;        /* HostIDs per new block; 0 unknown. */
};

/* Live facts about one switch that the db does not hold. */
struct ctl_rpc_switch_info {
    bool has_round_robin;       /* Patched round_robin select groups. */
};

/* Callbacks into the live controller.  Every hook runs on the loop's
 * thread, gets the 'aux' given to ctl_rpc_server_create(), and returns 0 or
 * a negative errno value, which the server maps to an error Response:
 * -ENOENT NOT_FOUND, -EINVAL/-ERANGE INVALID_ARGUMENT, -ENOTSUP/-ENOSYS
 * UNSUPPORTED, -ENOTCONN/-EAGAIN/-EBUSY/-ETIMEDOUT UNAVAILABLE, anything else
 * INTERNAL.  Any hook may be NULL. */
struct ctl_rpc_hooks {
    /* Changes the role of switch 'dpid' to 'role' (DB_ROLE_LABEL or
     * DB_ROLE_OBJECT; the server refuses other values and unknown switches
     * before calling).  The hook updates the db itself. */
    int (*set_role)(void *aux, uint64_t dpid, enum db_role role);

    /* Forgets host 'mac' now (address, instances, rules).  The server
     * checks that the host is in the db first. */
    int (*evict_host)(void *aux, const uint8_t mac[DB_MAC_LEN]);

    /* Reports the rules installed on switch 'dpid': on success '*rules' is
     * a malloc'ed array of '*n' rules (NULL when 0), whose strings are
     * malloc'ed too; the server frees all of it. */
    int (*rules)(void *aux, uint64_t dpid, struct ctl_rpc_rule **rules,
                 size_t *n);

    /* Fills '*st' (zeroed by the server) for a GetStatus request. */
    int (*status)(void *aux, struct ctl_rpc_status *st);

    /* Fills '*info' (zeroed by the server) for switch 'dpid' in switch
     * lists and descriptions; an error leaves the defaults. */
    int (*switch_info)(void *aux, uint64_t dpid,
                       struct ctl_rpc_switch_info *info);
};

/* Where and how to serve. */
struct ctl_rpc_config {
    const char *unix_path;      /* Unix socket path (required); see
                                 * ctl_rpc_default_path(). */
    const char *tcp;            /* "tcp:ADDR:PORT" ("tcp:[V6]:PORT") or
                                 * NULL for none; port 0 picks one. */
    const char *token;          /* Shared token; required with 'tcp'. */
    const char *db_path;        /* Reported by GetStatus; may be NULL. */
    size_t max_frame;           /* Largest payload; 0 = CTL_RPC_MAX_FRAME. */
    unsigned int follow_poll_ms;/* Event poll while following; 0 = 1000. */
};

/* Writes STATE_DIR/admin.sock into 'buf' ('size' bytes).  Returns 0, or
 * -ENAMETOOLONG if it does not fit (or exceeds a sockaddr_un path). */
int ctl_rpc_default_path(const char *state_dir, char *buf, size_t size);

/* Allocates a server on 'loop' answering from 'db' with 'hooks' (copied;
 * may be NULL for none) and 'aux'.  'cfg' is copied (its strings too).
 * Returns 0 and stores the server in '*out', or -EINVAL for a bad 'cfg'
 * (missing path, unparsable 'tcp', 'tcp' without a token), -ENOMEM. */
int ctl_rpc_server_create(uv_loop_t *loop, struct db *db,
                          const struct ctl_rpc_config *cfg,
                          const struct ctl_rpc_hooks *hooks, void *aux,
                          struct ctl_rpc_server **out);

/* Binds the Unix socket (replacing a stale file, -EADDRINUSE if another
 * server answers on it), sets it to 0600, listens, then the TCP listener if
 * configured.  Returns 0 or a negative errno value; on failure whatever was
 * opened is closed again by ctl_rpc_server_stop(), which the caller must
 * still call before ctl_rpc_server_destroy(). */
int ctl_rpc_server_start(struct ctl_rpc_server *);

/* The TCP port actually bound (useful with port 0), or 0 without TCP. */
int ctl_rpc_server_tcp_port(const struct ctl_rpc_server *);

/* Number of connected clients. */
size_t ctl_rpc_server_n_clients(const struct ctl_rpc_server *);

/* Closes the listeners and every client, removes the socket file, and calls
 * 'cb' (may be NULL) from the loop once every handle is closed.  Safe to
 * call on a server that was never started or failed to start; a second
 * call does nothing (and never calls its 'cb'). */
void ctl_rpc_server_stop(struct ctl_rpc_server *,
                         void (*cb)(struct ctl_rpc_server *, void *aux));

/* Frees a server that was stopped (after its callback ran) or never
 * started.  Accepts NULL. */
void ctl_rpc_server_destroy(struct ctl_rpc_server *);

/* Tells the server that events were appended to the log: clients that
 * follow get them now. */
void ctl_rpc_notify_event(struct ctl_rpc_server *);

#endif /* controller/rpc.h */
