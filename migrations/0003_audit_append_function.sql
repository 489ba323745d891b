-- Appends audit rows in one round trip: take the chain lock, read the head, chain each row onto
-- it. The service computes each row's canonical payload; the hash is sha256(prev_hash || payload),
-- exactly what the verifier recomputes. The lock is transaction-level: held until commit.
CREATE FUNCTION audit_append(ats timestamptz[], partner_ids text[], actions text[], subjects text[], details jsonb[], payloads text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  prev text;
  i int;
BEGIN
  PERFORM pg_advisory_xact_lock(7220431002);
  SELECT hash INTO prev FROM audit_log ORDER BY seq DESC LIMIT 1;
  prev := coalesce(prev, repeat('0', 64));
  FOR i IN 1 .. coalesce(array_length(payloads, 1), 0) LOOP
    INSERT INTO audit_log (at, partner_id, action, subject, detail, prev_hash, hash)
    VALUES (ats[i], partner_ids[i], actions[i], subjects[i], details[i], prev,
            encode(sha256(convert_to(prev || payloads[i], 'UTF8')), 'hex'))
    RETURNING hash INTO prev;
  END LOOP;
END;
$$;
