CREATE TABLE "query_budget" (
	"partner_id" text NOT NULL,
	"day" char(10) NOT NULL,
	"query_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "query_budget_partner_id_day_query_key_pk" PRIMARY KEY("partner_id","day","query_key")
);
--> statement-breakpoint
ALTER TABLE "cells" ADD COLUMN "key_sum" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Hand-written: records stored before the cell-key method get a key now (gen_random_uuid() draws from the
-- server's strong random source; the first 32 bits of a v4 UUID are random), and every cell's key sum is
-- recomputed from the records whose effect it holds. New records get their key at intake, so no default stays.
ALTER TABLE "records" ADD COLUMN "record_key" bigint DEFAULT (('x' || left(replace(gen_random_uuid()::text, '-', ''), 8))::bit(32)::bigint) NOT NULL;--> statement-breakpoint
ALTER TABLE "records" ALTER COLUMN "record_key" DROP DEFAULT;--> statement-breakpoint
UPDATE "cells" c SET "key_sum" = k.key_sum
FROM (
  SELECT r.country, r.period, r.subnational_area, r.country_of_origin, r.migration_status, r.migration_stage, r.sex,
    r.age_band, r.encounter, r.condition_group, r.screening_context, r.screening_consequence, r.insurance, r.outcome,
    sum(r.record_key) % 4294967296 AS key_sum
  FROM records r JOIN submissions s ON s.id = r.submission_id AND s.applied
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
) k
WHERE c.country = k.country AND c.period = k.period AND c.subnational_area = k.subnational_area
  AND c.country_of_origin = k.country_of_origin AND c.migration_status = k.migration_status
  AND c.migration_stage = k.migration_stage AND c.sex = k.sex AND c.age_band = k.age_band AND c.encounter = k.encounter
  AND c.condition_group = k.condition_group AND c.screening_context = k.screening_context
  AND c.screening_consequence = k.screening_consequence AND c.insurance = k.insurance AND c.outcome = k.outcome;