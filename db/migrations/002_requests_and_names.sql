-- SPDX-License-Identifier: Apache-2.0
--
-- Schema version 2: host and object names for sfctl, and the idempotency
-- table for in-band control requests.

ALTER TABLE hosts ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- Replies already sent to control requests, so that a retried request
-- (same host MAC, same request id) gets the same answer.  Not tied to
-- hosts: a join is answered before its host exists.  Pruned by age.
CREATE TABLE requests (
    host_mac    BLOB NOT NULL CHECK (length(host_mac) = 6),
    request_id  INTEGER NOT NULL,
    reply       BLOB NOT NULL,              -- Packed reply Envelope.
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (host_mac, request_id)
);
CREATE INDEX requests_age ON requests (created_at);

INSERT INTO schema_version (version, applied_at)
VALUES (2, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
