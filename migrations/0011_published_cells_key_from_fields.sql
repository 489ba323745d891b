ALTER TABLE "cells" ALTER COLUMN "record_type" SET DEFAULT 'contact';--> statement-breakpoint
ALTER TABLE "published_cells" ALTER COLUMN "record_type" SET DEFAULT 'contact';--> statement-breakpoint
ALTER TABLE "records" ALTER COLUMN "record_type" SET DEFAULT 'contact';--> statement-breakpoint
ALTER TABLE "published_cells" DROP CONSTRAINT "published_cells_pkey";
--> statement-breakpoint
ALTER TABLE "published_cells" ADD CONSTRAINT "published_cells_pkey" PRIMARY KEY("country","period","subnational_area","country_of_origin","migration_status","migration_stage","sex","age_band","encounter","condition_group","screening_context","screening_consequence","insurance","outcome","record_type","returned_from","tb_outcome","service_coverage");