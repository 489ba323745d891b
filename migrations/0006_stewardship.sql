CREATE TABLE "audit_checkpoints" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"hash" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"jws" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consents" (
	"country" char(3) NOT NULL,
	"reader_id" text NOT NULL,
	"state" text NOT NULL,
	"k" integer,
	"release" text DEFAULT 'published' NOT NULL,
	"until" date,
	"decided_at" timestamp with time zone NOT NULL,
	"decided_by" text NOT NULL,
	CONSTRAINT "consents_country_reader_id_pk" PRIMARY KEY("country","reader_id")
);
--> statement-breakpoint
CREATE TABLE "publications" (
	"country" char(3) NOT NULL,
	"period" char(7) NOT NULL,
	"revision" integer NOT NULL,
	"published_at" timestamp with time zone NOT NULL,
	"published_by" text NOT NULL,
	"records" bigint NOT NULL,
	CONSTRAINT "publications_country_period_revision_pk" PRIMARY KEY("country","period","revision")
);
--> statement-breakpoint
CREATE TABLE "published_cells" (
	"period" char(7) NOT NULL,
	"country" char(3) NOT NULL,
	"subnational_area" text NOT NULL,
	"country_of_origin" text NOT NULL,
	"migration_status" text NOT NULL,
	"migration_stage" text NOT NULL,
	"sex" text NOT NULL,
	"age_band" text NOT NULL,
	"encounter" text NOT NULL,
	"condition_group" text NOT NULL,
	"screening_context" text NOT NULL,
	"screening_consequence" text NOT NULL,
	"insurance" text NOT NULL,
	"outcome" text NOT NULL,
	"count" bigint NOT NULL,
	"key_sum" bigint NOT NULL,
	"revision" integer NOT NULL,
	CONSTRAINT "published_cells_pkey" PRIMARY KEY("country","period","subnational_area","country_of_origin","migration_status","migration_stage","sex","age_band","encounter","condition_group","screening_context","screening_consequence","insurance","outcome")
);
--> statement-breakpoint
ALTER TABLE "grants" ADD COLUMN "country_of_origin" char(3);--> statement-breakpoint
ALTER TABLE "submissions" ADD COLUMN "replaces" uuid;--> statement-breakpoint
ALTER TABLE "submissions" ADD COLUMN "replaced_by" uuid;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_reader_id_partners_id_fk" FOREIGN KEY ("reader_id") REFERENCES "public"."partners"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_countries_idx" ON "audit_log" USING gin (("detail" -> 'countries'));