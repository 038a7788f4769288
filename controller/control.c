/*
 * SCAFFOLD controller: in-band control requests (see control.h).
 *
 * Flow: unpack the Envelope; anything that does not unpack or has no body
 * is answered with an Error (id 0 when even the id is unknown).  For a
 * request with an id, a stored reply for (MAC, id) is returned as is.
 * Otherwise the handler for the body runs inside db_begin()/db_commit(),
 * builds its reply, and the reply is stored for retries in the same
 * transaction, so that a crash never leaves a change without its answer.
 * Error replies are stored too: a retry of a refused join is refused the
 * same way.  Bind and unbind record instances in db/; the controller
 * programs the object router's groups from them (object.h).
 */
#include "controller/control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "proto/control.pb-c.h"
#include "proto/sfp.h"

typedef Scaffold__Control__Envelope ctl_env;

/* Short names for the generated enums (the originals pass 79 columns). */
#define CTL_E_BAD_REQUEST SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_BAD_REQUEST
#define CTL_E_UNSUPPORTED SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_UNSUPPORTED
#define CTL_E_NOT_JOINED SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED
#define CTL_E_NO_ADDRESS SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NO_ADDRESS
#define CTL_E_CONFLICT SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_CONFLICT
#define CTL_S_OK SCAFFOLD__CONTROL__STATUS__STATUS_OK
#define CTL_S_ALREADY_DONE SCAFFOLD__CONTROL__STATUS__STATUS_ALREADY_DONE
#define CTL_PROTO_V1 SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1

static uint32_t
ctl_flow(uint8_t ss_id, uint8_t host_id)
{
    return ((uint32_t) ss_id << 24) | ((uint32_t) host_id << 16)
           | SFP_SOCK_AGENT;
}

/* Packs 'env' into res->reply.  Returns 0 or -ENOMEM. */
static int
ctl_pack(const ctl_env *env, struct ctl_control_result *res)
{
    size_t len = scaffold__control__envelope__get_packed_size(env);
    uint8_t *buf = malloc(len ? len : 1);

    if (!buf) {
        return -ENOMEM;
    }
    res->reply_len = scaffold__control__envelope__pack(env, buf);
    res->reply = buf;
    return 0;
}

static int
ctl_error(uint64_t id, Scaffold__Control__ErrorCode code, const char *msg,
          struct ctl_control_result *res)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Error err = SCAFFOLD__CONTROL__ERROR__INIT;

    err.id = id;
    err.code = code;
    err.message = (char *) msg;
    env.version = CTL_PROTO_V1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR;
    env.error = &err;
    snprintf(res->what, sizeof res->what, "error %d: %s", code, msg);
    return ctl_pack(&env, res);
}

static int
ctl_reply(uint64_t id, Scaffold__Control__Status status, uint32_t lease,
          struct ctl_control_result *res)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Reply reply = SCAFFOLD__CONTROL__REPLY__INIT;

    reply.id = id;
    reply.status = status;
    reply.lease_seconds = lease;
    env.version = CTL_PROTO_V1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    return ctl_pack(&env, res);
}

static void
ctl_event(struct db *db, int64_t now, const char *kind, const uint8_t *mac,
          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
ctl_event(struct db *db, int64_t now, const char *kind, const uint8_t *mac,
          const char *fmt, ...)
{
    char subject[24], detail[200];
    va_list args;

    snprintf(subject, sizeof subject, "%02x:%02x:%02x:%02x:%02x:%02x",
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    db_event_append(db, now, kind, subject, detail, NULL);
}

static unsigned int
ctl_block_prefix_len(unsigned int size)
{
    return 16 - (unsigned int) __builtin_ctz(size ? size : 1);
}

/* True when 'cfg' serves ssID 'ss_id'. */
static bool
ctl_serves(const struct ctl_control_config *cfg, uint32_t ss_id)
{
    for (size_t i = 0; i < cfg->n_ss_ids; i++) {
        if (cfg->ss_ids[i] == ss_id) {
            return true;
        }
    }
    return false;
}

/* A new host asked for address (ss_id, host_id): grants it (returns 0) if
 * it is a host address no host holds and its block is the router's of
 * 'from' or no block holds it (then a block of cfg->host_block hostIDs
 * around it is allocated to that router, if it overlaps none).  -ENOENT if
 * it cannot be granted, another negative errno for a store failure. */
static int
ctl_take_requested(struct db *db, const struct ctl_control_config *cfg,
                   const struct ctl_control_origin *from, uint32_t ss_id,
                   uint32_t host_id, int64_t now,
                   struct ctl_control_result *res)
{
    struct db_host holder;
    struct db_block b;
    int rc;

    if (host_id < DB_HOST_ID_MIN || host_id > DB_HOST_ID_MAX
        || !cfg->host_block) {
        return -ENOENT;
    }
    rc = db_host_find(db, ss_id, host_id, &holder);
    if (rc != -ENOENT) {
        return rc ? rc : -ENOENT;
    }
    rc = db_block_find(db, ss_id, host_id, &b);
    if (!rc) {
        return b.dpid == from->dpid ? 0 : -ENOENT;
    } else if (rc != -ENOENT) {
        return rc;
    }
    b = (struct db_block) {
        .ss_id = ss_id,
        .first = host_id & ~(cfg->host_block - 1u),
        .size = cfg->host_block,
        .dpid = from->dpid,
        .allocated_at = now,
    };
    rc = db_block_add(db, &b);
    if (rc == -EEXIST) {
        return -ENOENT;
    }
    res->new_block = !rc;
    return rc;
}

/* Allocates an address for a host joining at 'from': the lowest free
 * hostID of that router's blocks (of served ssIDs), or of a new block.
 * Returns 0, -ENOSPC when the served ssIDs are full, or another negative
 * errno. */
static int
ctl_alloc_address(struct db *db, const struct ctl_control_config *cfg,
                  const struct ctl_control_origin *from, int64_t now,
                  uint8_t *ss_id, uint8_t *host_id,
                  struct ctl_control_result *res)
{
    struct db_block *blocks, b;
    size_t n;
    int rc = db_block_list(db, from->dpid, &blocks, &n);

    if (rc) {
        return rc;
    }
    rc = -ENOSPC;
    for (size_t i = 0; rc == -ENOSPC && i < n; i++) {
        if (ctl_serves(cfg, blocks[i].ss_id)) {
            rc = db_block_free_host_id(db, &blocks[i], host_id);
            *ss_id = blocks[i].ss_id;
        }
    }
    free(blocks);
    if (rc != -ENOSPC) {
        return rc;
    }
    rc = db_block_alloc(db, from->dpid, cfg->host_block, cfg->ss_ids,
                        cfg->n_ss_ids, now, &b);
    if (!rc) {
        res->new_block = true;
        *ss_id = b.ss_id;
        rc = db_block_free_host_id(db, &b, host_id);
    }
    return rc;
}

/* Join: see control.h.  Returns 0 (with a reply, possibly an Error) or a
 * negative errno for a store failure. */
static int
ctl_join(struct db *db, const struct ctl_control_config *cfg,
         const struct ctl_control_origin *from,
         const Scaffold__Control__JoinRequest *rq, int64_t now,
         struct ctl_control_result *res)
{
    struct db_host host, old;
    bool known, moved = false;
    int rc;

    if (rq->mac.len != 6 || memcmp(rq->mac.data, from->mac, 6)) {
        return ctl_error(rq->id, CTL_E_BAD_REQUEST,
                         "mac must be the frame's Ethernet source", res);
    }
    rc = db_host_get(db, from->mac, &old);
    if (rc && rc != -ENOENT) {
        return rc;
    }
    known = !rc;

    memset(&host, 0, sizeof host);
    memcpy(host.mac, from->mac, 6);
    host.dpid = from->dpid;
    host.port_no = from->port_no;
    host.lease_expiry = now + (int64_t) cfg->lease_seconds * 1000;
    host.joined_at = known ? old.joined_at : now;
    snprintf(host.name, sizeof host.name, "%.*s", (int) sizeof host.name - 1,
             rq->name ? rq->name : "");

    if (known && ctl_serves(cfg, old.ss_id) && old.dpid == from->dpid
        && old.port_no == from->port_no) {
        /* Same attachment: same address. */
        host.ss_id = old.ss_id;
        host.host_id = old.host_id;
        host.moved_at = old.moved_at;
    } else {
        /* New host, or a move: a fresh address from this router's blocks.
         * A new host may ask for the address it had (e.g. across its own
         * restart) if it is free and its block is this router's or
         * free. */
        const Scaffold__Control__HostAddress *want = rq->requested;
        rc = -ENOENT;
        if (!known && want && want->ss_id <= 255 && want->host_id <= 255
            && ctl_serves(cfg, want->ss_id)) {
            rc = ctl_take_requested(db, cfg, from, want->ss_id,
                                    want->host_id, now, res);
        }
        if (!rc) {
            host.ss_id = want->ss_id;
            host.host_id = want->host_id;
        } else if (rc == -ENOENT) {
            rc = ctl_alloc_address(db, cfg, from, now, &host.ss_id,
                                   &host.host_id, res);
            if (rc == -ENOSPC) {
                return ctl_error(rq->id, CTL_E_NO_ADDRESS,
                                 "no free hostID in the served ssIDs", res);
            }
        }
        if (rc) {
            return rc;
        }
        moved = known;
        host.moved_at = moved ? now : 0;
        res->address_changed = true;
    }
    rc = db_host_upsert(db, &host);
    if (rc) {
        return rc;
    }
    res->changed = true;
    res->reply_dst_flow = ctl_flow(host.ss_id, host.host_id);
    if (res->new_block) {
        struct db_block b;
        if (!db_block_find(db, host.ss_id, host.host_id, &b)) {
            ctl_event(db, now, "block.alloc", host.mac, "%u.%u/%u (hostIDs "
                      "%u..%u) to %016"PRIx64, b.ss_id, b.first,
                      ctl_block_prefix_len(b.size), b.first,
                      b.first + b.size - 1u, b.dpid);
        }
    }
    if (moved) {
        ctl_event(db, now, "host.move", host.mac,
                  "%u.%u at %016"PRIx64":%"PRIu32" -> %u.%u at %016"PRIx64
                  ":%"PRIu32, old.ss_id, old.host_id, old.dpid, old.port_no,
                  host.ss_id, host.host_id, host.dpid, host.port_no);
    } else if (!known || old.host_id != host.host_id) {
        ctl_event(db, now, "host.join", host.mac,
                  "%u.%u at %016"PRIx64":%"PRIu32" name '%s'", host.ss_id,
                  host.host_id, host.dpid, host.port_no, host.name);
    }
    snprintf(res->what, sizeof res->what, "join %u.%u (%s)", host.ss_id,
             host.host_id, moved ? "moved" : known ? "again" : "new");

    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinReply reply = SCAFFOLD__CONTROL__JOIN_REPLY__INIT;
    reply.id = rq->id;
    reply.ss_id = host.ss_id;
    reply.host_id = host.host_id;
    reply.flow_id_prefix = ctl_flow(host.ss_id, host.host_id);
    reply.flow_id_prefix_len = 16;
    reply.gateway_mac.data = (uint8_t *) cfg->router_mac;
    reply.gateway_mac.len = 6;
    reply.lease_seconds = cfg->lease_seconds;
    reply.keepalive_seconds = cfg->keepalive_seconds;
    reply.controller_epoch = cfg->epoch;
    reply.moved = moved;
    env.version = CTL_PROTO_V1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY;
    env.join_reply = &reply;
    return ctl_pack(&env, res);
}

static int
ctl_keepalive(struct db *db, const struct ctl_control_config *cfg,
              const struct ctl_control_origin *from,
              const Scaffold__Control__Keepalive *rq, int64_t now,
              struct ctl_control_result *res)
{
    struct db_host host;
    int rc = db_host_get(db, from->mac, &host);

    if (rc && rc != -ENOENT) {
        return rc;
    }
    if (rc == -ENOENT
        || (rq->address && (rq->address->ss_id != host.ss_id
                            || rq->address->host_id != host.host_id))
        || host.dpid != from->dpid || host.port_no != from->port_no) {
        return ctl_error(rq->id, CTL_E_NOT_JOINED,
                         "not joined here: join again", res);
    }
    rc = db_host_renew(db, from->mac,
                       now + (int64_t) cfg->lease_seconds * 1000);
    if (rc) {
        return rc;
    }
    res->reply_dst_flow = ctl_flow(host.ss_id, host.host_id);
    snprintf(res->what, sizeof res->what, "keepalive %u.%u", host.ss_id,
             host.host_id);
    return ctl_reply(rq->id, CTL_S_OK,
                     cfg->lease_seconds, res);
}

static int
ctl_leave(struct db *db, const struct ctl_control_origin *from,
          const Scaffold__Control__LeaveRequest *rq, int64_t now,
          struct ctl_control_result *res)
{
    struct db_host host;
    int rc = db_host_get(db, from->mac, &host);

    if (rc == -ENOENT) {
        snprintf(res->what, sizeof res->what, "leave (not joined)");
        return ctl_reply(rq->id, CTL_S_ALREADY_DONE,
                         0, res);
    } else if (rc) {
        return rc;
    }
    rc = db_host_delete(db, from->mac);
    if (rc) {
        return rc;
    }
    res->changed = true;
    res->reply_dst_flow = ctl_flow(host.ss_id, host.host_id);
    ctl_event(db, now, "host.leave", host.mac, "%u.%u reason %d",
              host.ss_id, host.host_id, rq->reason);
    snprintf(res->what, sizeof res->what, "leave %u.%u", host.ss_id,
             host.host_id);
    return ctl_reply(rq->id, CTL_S_OK, 0, res);
}

/* The joined host behind 'from', or an Error reply (NOT_JOINED) in 'res'.
 * Returns 0 with '*host' filled, 1 when the Error was made, or a negative
 * errno. */
static int
ctl_joined_host(struct db *db, const struct ctl_control_origin *from,
                uint64_t id, struct db_host *host,
                struct ctl_control_result *res)
{
    int rc = db_host_get(db, from->mac, host);

    if (rc && rc != -ENOENT) {
        return rc;
    }
    if (rc || host->dpid != from->dpid || host->port_no != from->port_no) {
        rc = ctl_error(id, CTL_E_NOT_JOINED, "not joined here: join again",
                       res);
        return rc ? rc : 1;
    }
    return 0;
}

/* Bind: records the instance (object, host, sockID); the controller's next
 * sync adds its bucket to the object router's group (object.h). */
static int
ctl_bind(struct db *db, const struct ctl_control_origin *from,
         const Scaffold__Control__BindRequest *rq, int64_t now,
         struct ctl_control_result *res)
{
    struct db_host host;
    int rc = ctl_joined_host(db, from, rq->id, &host, res);

    if (rc) {
        return rc > 0 ? 0 : rc;
    }
    if (rq->object_id <= SFP_OBJ_CONTROL || rq->object_id > 65535
        || rq->sock_id == SFP_SOCK_AGENT || rq->sock_id > 65535) {
        return ctl_error(rq->id, CTL_E_BAD_REQUEST,
                         "object_id must be 2..65535, sock_id 1..65535",
                         res);
    }
    struct db_instance inst = {
        .object_id = rq->object_id,
        .sock_id = rq->sock_id,
        .bound_at = now,
    };
    memcpy(inst.host_mac, host.mac, 6);
    rc = db_instance_add(db, &inst);
    if (rc == -EEXIST
        && (rq->flags & SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_REPLACE)) {
        rc = db_instance_remove(db, host.mac, rq->sock_id);
        if (!rc) {
            rc = db_instance_add(db, &inst);
        }
    }
    if (rc == -EEXIST) {
        return ctl_error(rq->id, CTL_E_CONFLICT,
                         "sockID already bound (use BIND_FLAG_REPLACE)", res);
    } else if (rc) {
        return rc;
    }
    res->changed = true;
    res->instance_changed = true;
    ctl_event(db, now, "instance.bind", host.mac, "object %u on %u.%u.%u",
              rq->object_id, host.ss_id, host.host_id, rq->sock_id);
    snprintf(res->what, sizeof res->what, "bind object %u to %u.%u.%u",
             rq->object_id, host.ss_id, host.host_id, rq->sock_id);
    return ctl_reply(rq->id, CTL_S_OK, 0, res);
}

static int
ctl_unbind(struct db *db, const struct ctl_control_origin *from,
           const Scaffold__Control__UnbindRequest *rq, int64_t now,
           struct ctl_control_result *res)
{
    struct db_host host;
    int rc = ctl_joined_host(db, from, rq->id, &host, res);

    if (rc) {
        return rc > 0 ? 0 : rc;
    }
    struct db_instance *insts;
    size_t n;
    bool found = false;
    rc = db_instance_list_host(db, host.mac, &insts, &n);
    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        found |= insts[i].sock_id == rq->sock_id
                 && insts[i].object_id == rq->object_id;
    }
    free(insts);
    if (!found) {
        snprintf(res->what, sizeof res->what, "unbind (not bound)");
        return ctl_reply(rq->id, CTL_S_ALREADY_DONE, 0, res);
    }
    rc = db_instance_remove(db, host.mac, rq->sock_id);
    if (rc) {
        return rc;
    }
    res->changed = true;
    res->instance_changed = true;
    ctl_event(db, now, "instance.unbind", host.mac, "object %u on %u.%u.%u",
              rq->object_id, host.ss_id, host.host_id, rq->sock_id);
    snprintf(res->what, sizeof res->what, "unbind object %u from %u.%u.%u",
             rq->object_id, host.ss_id, host.host_id, rq->sock_id);
    return ctl_reply(rq->id, CTL_S_OK, 0, res);
}

/* The request id of 'env', 0 for bodies without one. */
static uint64_t
ctl_request_id(const ctl_env *env)
{
    switch (env->body_case) {
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN:
        return env->join->id;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND:
        return env->bind->id;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND:
        return env->unbind->id;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE:
        return env->leave->id;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_KEEPALIVE:
        return env->keepalive->id;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY:
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY:
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR:
    case SCAFFOLD__CONTROL__ENVELOPE__BODY__NOT_SET:
    default:
        return 0;
    }
}

/* Handles one control message; see control.h.  On success '*res' holds a
 * reply to send (always: errors are replies too) and 0 is returned; a
 * negative errno means the store failed (nothing changed, no reply: the
 * host will retry). */
int
ctl_control_handle(struct db *db, const struct ctl_control_config *cfg,
                   const struct ctl_control_origin *from,
                   const uint8_t *payload, size_t len, int64_t now,
                   struct ctl_control_result *res)
{
    int rc;

    memset(res, 0, sizeof *res);
    ctl_env *env = scaffold__control__envelope__unpack(NULL, len, payload);
    if (!env) {
        return ctl_error(0, CTL_E_BAD_REQUEST,
                         "undecodable control message", res);
    }
    uint64_t id = ctl_request_id(env);
    res->id = id;
    if (env->version
        != CTL_PROTO_V1) {
        rc = ctl_error(id, CTL_E_UNSUPPORTED,
                       "unsupported protocol version", res);
        goto out;
    }
    if (!id) {
        rc = ctl_error(0, env->body_case
                          == SCAFFOLD__CONTROL__ENVELOPE__BODY__NOT_SET
                       ? CTL_E_UNSUPPORTED
                       : CTL_E_BAD_REQUEST,
                       "not a request, or request id 0", res);
        goto out;
    }

    /* A retry gets the first answer. */
    void *stored;
    size_t stored_len;
    rc = db_request_get(db, from->mac, id, &stored, &stored_len);
    if (!rc) {
        struct db_host host;
        res->reply = stored;
        res->reply_len = stored_len;
        if (!db_host_get(db, from->mac, &host)) {
            res->reply_dst_flow = ctl_flow(host.ss_id, host.host_id);
        }
        snprintf(res->what, sizeof res->what, "retry of request %"PRIu64
                 ", same answer", id);
        goto out;
    } else if (rc != -ENOENT) {
        goto out;
    }

    rc = db_begin(db);
    if (rc) {
        goto out;
    }
    switch (env->body_case) {
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN:
        rc = ctl_join(db, cfg, from, env->join, now, res);
        break;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_KEEPALIVE:
        rc = ctl_keepalive(db, cfg, from, env->keepalive, now, res);
        break;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE:
        rc = ctl_leave(db, from, env->leave, now, res);
        break;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND:
        rc = ctl_bind(db, from, env->bind, now, res);
        break;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND:
        rc = ctl_unbind(db, from, env->unbind, now, res);
        break;
    default:
        rc = ctl_error(id, CTL_E_UNSUPPORTED, "not a request", res);
        break;
    }
    if (!rc) {
        rc = db_request_put(db, from->mac, id, res->reply, res->reply_len,
                            now);
    }
    if (!rc) {
        rc = db_commit(db);
    } else {
        db_rollback(db);
    }
    if (rc) {
        free(res->reply);
        res->reply = NULL;
        res->reply_len = 0;
        res->changed = false;
        res->instance_changed = false;
        res->address_changed = false;
    }

out:
    if (!rc && !res->reply_dst_flow) {
        /* Errors go to the host's current address when it has one. */
        struct db_host host;
        if (!db_host_get(db, from->mac, &host)) {
            res->reply_dst_flow = ctl_flow(host.ss_id, host.host_id);
        }
    }
    scaffold__control__envelope__free_unpacked(env, NULL);
    return rc;
}
