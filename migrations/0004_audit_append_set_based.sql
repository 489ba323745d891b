-- Audit appends take the batch as one JSON array ([{at, partnerId, action, subject, detail, payload}])
-- and insert it with one statement: the chain is still computed row by row (sha256(prev_hash ||
-- payload), as the verifier recomputes it), but only the hashes are computed in the loop. About half
-- the database time per row of 0003's row-by-row INSERT, and far cheaper for the service to send.
DROP FUNCTION audit_append(timestamptz[], text[], text[], text[], jsonb[], text[]);
--> statement-breakpoint
CREATE FUNCTION audit_append(entries json)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  prev text;
  payloads text[];
  prevs text[];
  hashes text[];
  n int;
BEGIN
  SELECT array_agg(e->>'payload' ORDER BY i) INTO payloads FROM json_array_elements(entries) WITH ORDINALITY AS t(e, i);
  n := coalesce(array_length(payloads, 1), 0);
  IF n = 0 THEN RETURN; END IF;
  PERFORM pg_advisory_xact_lock(7220431002);
  SELECT hash INTO prev FROM audit_log ORDER BY seq DESC LIMIT 1;
  prev := coalesce(prev, repeat('0', 64));
  prevs := array_fill(NULL::text, ARRAY[n]);
  hashes := array_fill(NULL::text, ARRAY[n]);
  FOR i IN 1 .. n LOOP
    prevs[i] := prev;
    prev := encode(sha256(convert_to(prev || payloads[i], 'UTF8')), 'hex');
    hashes[i] := prev;
  END LOOP;
  -- seq follows the batch's order: rows reach the insert sorted by their position.
  INSERT INTO audit_log (at, partner_id, action, subject, detail, prev_hash, hash)
  SELECT (e->>'at')::timestamptz, e->>'partnerId', e->>'action', e->>'subject', (e->'detail')::jsonb, prevs[i], hashes[i]
  FROM json_array_elements(entries) WITH ORDINALITY AS t(e, i)
  ORDER BY i;
END;
$$;
