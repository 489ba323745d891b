-- Hand-written. A migrant-health-event 1.0.0 record has no recordType and counts contacts (what
-- 1.0.0 meant): intake stores `contact` for it from now on (model/fields.ts, recordType `before`),
-- and what earlier intake stored as '_Z' becomes `contact` here. Only 1.0.0 records held '_Z':
-- recordType is required from 1.1.0 and in every aggregate schema. Cells of '_Z' move to their
-- `contact` twin, merged with it where it exists (counts added, key sums added mod 2^32, as a
-- roll-up adds them); the triggers on cells move cell_margins with them.
UPDATE records SET record_type = 'contact' WHERE record_type = '_Z';
--> statement-breakpoint
INSERT INTO cells (period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band, encounter, condition_group, screening_context, screening_consequence, insurance, outcome, record_type, returned_from, tb_outcome, service_coverage, count, key_sum, updated_at)
SELECT period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band, encounter, condition_group, screening_context, screening_consequence, insurance, outcome, 'contact', returned_from, tb_outcome, service_coverage, count, key_sum, now() FROM cells WHERE record_type = '_Z'
ON CONFLICT ON CONSTRAINT cells_pkey DO UPDATE SET count = cells.count + EXCLUDED.count,
  key_sum = (cells.key_sum + EXCLUDED.key_sum) % 4294967296, updated_at = now();
--> statement-breakpoint
DELETE FROM cells WHERE record_type = '_Z';
--> statement-breakpoint
INSERT INTO published_cells (period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band, encounter, condition_group, screening_context, screening_consequence, insurance, outcome, record_type, returned_from, tb_outcome, service_coverage, count, key_sum)
SELECT period, country, subnational_area, country_of_origin, migration_status, migration_stage, sex, age_band, encounter, condition_group, screening_context, screening_consequence, insurance, outcome, 'contact', returned_from, tb_outcome, service_coverage, count, key_sum FROM published_cells WHERE record_type = '_Z'
ON CONFLICT ON CONSTRAINT published_cells_pkey DO UPDATE SET count = published_cells.count + EXCLUDED.count,
  key_sum = (published_cells.key_sum + EXCLUDED.key_sum) % 4294967296;
--> statement-breakpoint
DELETE FROM published_cells WHERE record_type = '_Z';
