CREATE TABLE "dhis2_mappings" (
	"partner_id" text PRIMARY KEY NOT NULL,
	"mapping" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "cells" ADD COLUMN "record_type" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "cells" ADD COLUMN "returned_from" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "cells" ADD COLUMN "tb_outcome" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "cells" ADD COLUMN "service_coverage" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "published_cells" ADD COLUMN "record_type" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "published_cells" ADD COLUMN "returned_from" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "published_cells" ADD COLUMN "tb_outcome" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "published_cells" ADD COLUMN "service_coverage" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "record_type" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "returned_from" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "tb_outcome" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "service_coverage" text DEFAULT '_Z' NOT NULL;--> statement-breakpoint
ALTER TABLE "dhis2_mappings" ADD CONSTRAINT "dhis2_mappings_partner_id_partners_id_fk" FOREIGN KEY ("partner_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cells" DROP CONSTRAINT "cells_pkey";
--> statement-breakpoint
ALTER TABLE "cells" ADD CONSTRAINT "cells_pkey" PRIMARY KEY("country","period","subnational_area","country_of_origin","migration_status","migration_stage","sex","age_band","encounter","condition_group","screening_context","screening_consequence","insurance","outcome","record_type","returned_from","tb_outcome","service_coverage");