/*
 * Unit tests for the hostID blocks of db/ (db_blocks.c) on a real sqlite
 * file: add with its checks (alignment, size, overlap, unknown switch),
 * find, list with host counts, allocation over several ssIDs in order and
 * exhaustion, the free hostID of a block (never 0 or 255), expiry of empty
 * blocks after the grace period, and blocks going with their switch.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "tests/unit/harness.h"

static struct db *db;

static void
setup(void)
{
    char path[128];
    char *msg = NULL;

    snprintf(path, sizeof path, "%s/blocks.db", sft_tmpdir());
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(db_open(path, &db, &msg), 0);
    for (uint64_t dpid = 1; dpid <= 3; dpid++) {
        struct db_switch s = { .dpid = dpid, .role = DB_ROLE_LABEL };
        CU_ASSERT_EQUAL_FATAL(db_switch_upsert(db, &s), 0);
    }
}

static void
teardown(void)
{
    db_close(db);
    db = NULL;
}

static void
host(uint8_t ss, uint8_t id, uint64_t dpid)
{
    struct db_host h = { .ss_id = ss, .host_id = id, .dpid = dpid,
                         .port_no = id, .mac = { 2, 9, 0, 0, ss, id } };
    CU_ASSERT_EQUAL_FATAL(db_host_upsert(db, &h), 0);
}

static void
test_add_find_list(void)
{
    struct db_block b = { .ss_id = 1, .first = 16, .size = 16, .dpid = 1,
                          .allocated_at = 5 };
    struct db_block bad;

    CU_ASSERT_EQUAL(db_block_add(db, &b), 0);
    /* Overlaps, misalignment, bad sizes and ssIDs, unknown switch. */
    bad = (struct db_block) { .ss_id = 1, .first = 0, .size = 32,
                              .dpid = 2 };
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(db_errmsg(db), "overlaps block 1.16/16"));
    bad = (struct db_block) { .ss_id = 1, .first = 24, .size = 8,
                              .dpid = 2 };
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -EEXIST);
    bad.first = 4;
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -EINVAL);
    bad = (struct db_block) { .ss_id = 1, .first = 0, .size = 12,
                              .dpid = 2 };
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -EINVAL);
    bad.size = 512;
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -EINVAL);
    bad = (struct db_block) { .ss_id = 255, .first = 0, .size = 16,
                              .dpid = 2 };
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -EINVAL);
    bad.ss_id = 2;
    bad.dpid = 77;
    CU_ASSERT_EQUAL(db_block_add(db, &bad), -ENOENT);
    /* The same range in another ssID is fine. */
    bad.dpid = 2;
    CU_ASSERT_EQUAL(db_block_add(db, &bad), 0);

    struct db_block f;
    CU_ASSERT_EQUAL(db_block_find(db, 1, 31, &f), 0);
    CU_ASSERT_EQUAL(f.first, 16);
    CU_ASSERT_EQUAL(f.allocated_at, 5);
    CU_ASSERT_EQUAL(db_block_find(db, 1, 32, &f), -ENOENT);
    CU_ASSERT_EQUAL(db_block_find(db, 1, 15, &f), -ENOENT);

    host(1, 17, 1);
    host(1, 18, 1);
    host(1, 19, 3);     /* In the range, attached elsewhere: not counted. */
    struct db_block *list;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(db_block_list(db, 0, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(list[0].ss_id, 1);
    CU_ASSERT_EQUAL(list[0].n_hosts, 2);
    CU_ASSERT_EQUAL(list[1].ss_id, 2);
    CU_ASSERT_EQUAL(list[1].n_hosts, 0);
    free(list);
    CU_ASSERT_EQUAL_FATAL(db_block_list(db, 2, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(list[0].ss_id, 2);
    free(list);

    /* The lowest free hostID skips the held ones. */
    uint8_t id;
    CU_ASSERT_EQUAL(db_block_free_host_id(db, &b, &id), 0);
    CU_ASSERT_EQUAL(id, 16);
    host(1, 16, 1);
    CU_ASSERT_EQUAL(db_block_free_host_id(db, &b, &id), 0);
    CU_ASSERT_EQUAL(id, 20);

    CU_ASSERT_EQUAL(db_block_delete(db, 2, 0), 0);
    CU_ASSERT_EQUAL(db_block_delete(db, 2, 0), -ENOENT);
}

static void
test_alloc(void)
{
    static const uint8_t ss[] = { 5, 6 };
    struct db_block b;
    uint8_t id;

    /* Blocks of 128: 5.0, 5.128, 6.0, 6.128, then nothing. */
    CU_ASSERT_EQUAL(db_block_alloc(db, 1, 128, ss, 2, 10, &b), 0);
    CU_ASSERT_EQUAL(b.ss_id, 5);
    CU_ASSERT_EQUAL(b.first, 0);
    CU_ASSERT_EQUAL(b.dpid, 1);
    CU_ASSERT_EQUAL(db_block_free_host_id(db, &b, &id), 0);
    CU_ASSERT_EQUAL(id, 1);                 /* never hostID 0 */
    CU_ASSERT_EQUAL(db_block_alloc(db, 2, 128, ss, 2, 10, &b), 0);
    CU_ASSERT_EQUAL(b.first, 128);
    CU_ASSERT_EQUAL(db_block_alloc(db, 3, 128, ss, 2, 10, &b), 0);
    CU_ASSERT_EQUAL(b.ss_id, 6);
    CU_ASSERT_EQUAL(b.first, 0);
    CU_ASSERT_EQUAL(db_block_alloc(db, 3, 128, ss, 2, 10, &b), 0);
    CU_ASSERT_EQUAL(b.ss_id, 6);
    CU_ASSERT_EQUAL(b.first, 128);
    for (int i = 128; i < 254; i++) {
        host(6, i, 3);
    }
    CU_ASSERT_EQUAL(db_block_free_host_id(db, &b, &id), 0);
    CU_ASSERT_EQUAL(id, 254);               /* never hostID 255 */
    host(6, 254, 3);
    CU_ASSERT_EQUAL(db_block_free_host_id(db, &b, &id), -ENOSPC);
    CU_ASSERT_EQUAL(db_block_alloc(db, 1, 128, ss, 2, 10, &b), -ENOSPC);
    CU_ASSERT_PTR_NOT_NULL(strstr(db_errmsg(db), "no free block"));
    CU_ASSERT_EQUAL(db_block_alloc(db, 1, 96, ss, 2, 10, &b), -EINVAL);

    /* Smaller blocks fill the gaps of another ssID; a range whose every
     * hostID is held by hosts outside blocks is skipped. */
    static const uint8_t ss7[] = { 7 };
    for (int i = 1; i < 16; i++) {
        host(7, i, 2);
    }
    CU_ASSERT_EQUAL(db_block_alloc(db, 1, 16, ss7, 1, 10, &b), 0);
    CU_ASSERT_EQUAL(b.first, 16);
    /* Size 1: hostID 0 is not a block anyone could use. */
    static const uint8_t ss8[] = { 8 };
    CU_ASSERT_EQUAL(db_block_alloc(db, 1, 1, ss8, 1, 10, &b), 0);
    CU_ASSERT_EQUAL(b.first, 1);
}

static void
test_expire_and_cascade(void)
{
    static const uint8_t ss[] = { 1 };
    struct db_block b;
    size_t n;

    CU_ASSERT_EQUAL(db_block_alloc(db, 1, 16, ss, 1, 0, &b), 0);
    CU_ASSERT_EQUAL(db_block_alloc(db, 2, 16, ss, 1, 0, &b), 0);
    host(1, 1, 1);
    /* 1.16 (switch 2) is empty from t=100 on; 1.0 has a host. */
    CU_ASSERT_EQUAL(db_block_expire(db, 100, 50, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(db_block_find(db, 1, 16, &b), 0);
    CU_ASSERT_EQUAL(b.empty_since, 100);
    /* A host joins in time: the mark goes. */
    host(1, 17, 2);
    CU_ASSERT_EQUAL(db_block_expire(db, 140, 50, &n), 0);
    CU_ASSERT_EQUAL(db_block_find(db, 1, 16, &b), 0);
    CU_ASSERT_EQUAL(b.empty_since, 0);
    uint8_t mac[6] = { 2, 9, 0, 0, 1, 17 };
    CU_ASSERT_EQUAL(db_host_delete(db, mac), 0);
    CU_ASSERT_EQUAL(db_block_expire(db, 200, 50, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(db_block_expire(db, 249, 50, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(db_block_expire(db, 250, 50, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(db_block_find(db, 1, 16, &b), -ENOENT);
    CU_ASSERT_EQUAL(db_block_find(db, 1, 1, &b), 0);

    /* Blocks go with their switch (once it has no hosts). */
    CU_ASSERT_EQUAL(db_block_alloc(db, 3, 16, ss, 1, 0, &b), 0);
    CU_ASSERT_EQUAL(db_switch_delete(db, 3), 0);
    CU_ASSERT_EQUAL(db_block_find(db, 1, b.first, &b), -ENOENT);
}

static CU_TestInfo block_tests[] = {
    {"add, find, list, free hostID", test_add_find_list},
    {"allocation over ssIDs", test_alloc},
    {"expiry and switch deletion", test_expire_and_cascade},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"db_blocks", NULL, NULL, setup, teardown, block_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("db_blocks", suites);
}
