-- SPDX-License-Identifier: Apache-2.0
--
-- Schema version 3: small named values of the controller itself (e.g. its
-- epoch, proto/control.proto JoinReply.controller_epoch).

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL DEFAULT ''
);

INSERT INTO schema_version (version, applied_at)
VALUES (3, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
