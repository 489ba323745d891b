CREATE TABLE "cell_margins" (
	"dimension" text NOT NULL,
	"country" char(3) NOT NULL,
	"period" char(7) NOT NULL,
	"value" text NOT NULL,
	"count" bigint NOT NULL,
	"key_sum" bigint NOT NULL,
	CONSTRAINT "cell_margins_pkey" PRIMARY KEY("dimension","country","period","value")
);
--> statement-breakpoint
-- Hand-written: triggers keep cell_margins equal to the cells summed per month × country × one
-- dimension's value (and per month × country: '_T'), so every writer of cells (processor, rebuild,
-- tests, later migrations) keeps them without code of its own. Statement-level with transition tables:
-- one margin upsert per statement, not per cell. A dimension added to cells later needs this function
-- and the fill below redone (the aggregates verify shows margins that miss it).
CREATE FUNCTION cell_margins_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed text;
  dims text[];
  countries text[];
  periods text[];
  vals text[];
BEGIN
  -- Signed changes: rows a statement added count +, rows it removed count − (an UPDATE both).
  changed := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT *, count AS d_count, key_sum AS d_key FROM new_cells'
    WHEN 'DELETE' THEN 'SELECT *, -count AS d_count, -key_sum AS d_key FROM old_cells'
    ELSE 'SELECT *, count AS d_count, key_sum AS d_key FROM new_cells UNION ALL SELECT *, -count, -key_sum FROM old_cells'
  END;
  -- Key sums stay in [0, 2^32) as in cells. ORDER BY the key: concurrent writers lock margins in one order.
  EXECUTE format($f$
    WITH changed AS (%s),
    deltas AS (
      SELECT m.dimension, c.country, c.period, m.value, sum(c.d_count) AS count, sum(c.d_key) AS key_sum
      FROM changed c CROSS JOIN LATERAL (VALUES ('_T', '_T'),
        ('subnational_area', c.subnational_area), ('country_of_origin', c.country_of_origin),
        ('migration_status', c.migration_status), ('migration_stage', c.migration_stage), ('sex', c.sex),
        ('age_band', c.age_band), ('encounter', c.encounter), ('condition_group', c.condition_group),
        ('screening_context', c.screening_context), ('screening_consequence', c.screening_consequence),
        ('insurance', c.insurance), ('outcome', c.outcome), ('record_type', c.record_type),
        ('returned_from', c.returned_from), ('tb_outcome', c.tb_outcome), ('service_coverage', c.service_coverage)) AS m (dimension, value)
      GROUP BY 1, 2, 3, 4
      HAVING sum(c.d_count) <> 0 OR sum(c.d_key) %% 4294967296 <> 0
    ),
    upserted AS (
      INSERT INTO cell_margins (dimension, country, period, value, count, key_sum)
      SELECT dimension, country, period, value, count, (key_sum %% 4294967296 + 4294967296) %% 4294967296
      FROM deltas ORDER BY 1, 2, 3, 4
      ON CONFLICT ON CONSTRAINT cell_margins_pkey DO UPDATE SET count = cell_margins.count + EXCLUDED.count,
        key_sum = (cell_margins.key_sum + EXCLUDED.key_sum) %% 4294967296
      RETURNING dimension, country, period, value, count
    )
    SELECT array_agg(dimension), array_agg(country), array_agg(period), array_agg(value) FROM upserted WHERE count = 0
  $f$, changed) INTO dims, countries, periods, vals;
  -- Zero margins are not kept, like zero cells.
  IF dims IS NOT NULL THEN
    DELETE FROM cell_margins m
    USING unnest(dims, countries, periods, vals) AS z (dimension, country, period, value)
    WHERE m.dimension = z.dimension AND m.country = z.country AND m.period = z.period AND m.value = z.value AND m.count = 0;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION cell_margins_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE cell_margins;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Transition tables allow one event per trigger.
CREATE TRIGGER cells_margins_insert AFTER INSERT ON cells REFERENCING NEW TABLE AS new_cells
  FOR EACH STATEMENT EXECUTE FUNCTION cell_margins_follow();--> statement-breakpoint
CREATE TRIGGER cells_margins_update AFTER UPDATE ON cells REFERENCING OLD TABLE AS old_cells NEW TABLE AS new_cells
  FOR EACH STATEMENT EXECUTE FUNCTION cell_margins_follow();--> statement-breakpoint
CREATE TRIGGER cells_margins_delete AFTER DELETE ON cells REFERENCING OLD TABLE AS old_cells
  FOR EACH STATEMENT EXECUTE FUNCTION cell_margins_follow();--> statement-breakpoint
CREATE TRIGGER cells_margins_truncate AFTER TRUNCATE ON cells
  FOR EACH STATEMENT EXECUTE FUNCTION cell_margins_truncate();--> statement-breakpoint
-- The margins of the cells stored before this migration.
INSERT INTO cell_margins (dimension, country, period, value, count, key_sum)
SELECT m.dimension, c.country, c.period, m.value, sum(c.count), sum(c.key_sum) % 4294967296
FROM cells c CROSS JOIN LATERAL (VALUES ('_T', '_T'),
  ('subnational_area', c.subnational_area), ('country_of_origin', c.country_of_origin),
  ('migration_status', c.migration_status), ('migration_stage', c.migration_stage), ('sex', c.sex),
  ('age_band', c.age_band), ('encounter', c.encounter), ('condition_group', c.condition_group),
  ('screening_context', c.screening_context), ('screening_consequence', c.screening_consequence),
  ('insurance', c.insurance), ('outcome', c.outcome), ('record_type', c.record_type),
  ('returned_from', c.returned_from), ('tb_outcome', c.tb_outcome), ('service_coverage', c.service_coverage)) AS m (dimension, value)
GROUP BY 1, 2, 3, 4
HAVING sum(c.count) <> 0;
