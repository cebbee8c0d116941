-- pseudonym(domain, value): HMAC-SHA256 (RFC 2104) of '<domain>:<value>' under the export key,
-- cut to the first $export_hash_chars hex characters; NULL stays NULL. The key's inner and outer
-- pads are session variables of this read-only connection (export._install_hash), so the key
-- never appears in SQL text. The domain ('patient', 'session', ...) is part of the hashed text,
-- so an infusion id that happens to equal a patient id does not get the patient's hash.
CREATE OR REPLACE TEMP MACRO pseudonym(domain, value) AS
    left(sha256(getvariable('export_opad')
                || unhex(sha256(getvariable('export_ipad') || encode(domain || ':' || value)))),
         getvariable('export_hash_chars'));
